/**
 * Verified governance facts → Cedar entity data and context (cedar-wasm's JSON format).
 *
 * The model (see `cedar/schema.cedarschema`): every type lives in the `Argus::` namespace.
 * Delegation maps onto the entity hierarchy — each agent of a chain has the entity before it as
 * its parent, so `Argus::Agent::"sub" in Argus::Agent::"planner" in Argus::Human::"alice"` and
 * `principal in Argus::Human::"alice"` holds along the whole chain. A goal is an `Argus::Goal`
 * entity `{ owner, status, intents }`. The context always carries `intent` (`""` when none was
 * declared) and `delegation: { depth, root?, scope }` (depth 0, no root, empty scope when the agent
 * acts on its own authority), and `goal` when one was named — the `Argus::Request` type of
 * `cedar/schema.cedarschema`.
 *
 * Entities get schema-complete, fail-closed default attributes (a Human: no roles; an Agent
 * without a registry record: trust `unregistered`, no capabilities, lease not alive), overridden by
 * the principal's `agentRecord` and then by the caller's `attributes` lookup.
 */
import type { EntityRef } from '@argus/contracts';
import type { HopFact } from './delegation-chain.ts';
import type { Goal } from './goal.ts';
import { bareType, cedarType, cedarUid, formatUid, sameEntity } from './uid.ts';

export { cedarUid };

/** An entity reference as cedar-wasm takes it inside attributes and context. */
export interface CedarEntityRef {
  __entity: { type: string; id: string };
}

/** One entity in cedar-wasm's JSON format. */
export interface CedarEntity {
  uid: { type: string; id: string };
  attrs: Record<string, unknown>;
  parents: Array<{ type: string; id: string }>;
}

/** What the registry knows about the principal agent (the fields that become Cedar attributes). */
export interface AgentRecord {
  id: string;
  /** Registry trust state: `discovered`, `pending`, `trusted`, `quarantined`, `revoked`. */
  trust?: string;
  /** The Human responsible for the agent: a reference or a bare id. */
  owner?: EntityRef | string;
  capabilities?: string[];
  /** What kind of agent it is (`llm-agent`, `mcp-client`, ...). */
  kind?: string;
  /** False when the registry lease expired. */
  leaseAlive?: boolean;
  clearance?: string;
}

/** Default attributes of an Agent that has no registry record in the request: nothing is trusted. */
export const UNKNOWN_AGENT_ATTRS: Readonly<Omit<AgentAttributes, 'capabilities'> & { capabilities: readonly string[] }> = Object.freeze({
  trust: 'unregistered',
  kind: 'unknown',
  capabilities: Object.freeze([]),
  leaseAlive: false,
});

/** Default attributes of a Human: no roles. */
export const DEFAULT_HUMAN_ATTRS: Readonly<Record<string, unknown>> = Object.freeze({ roles: [] });

/** The verified delegation, as `toCedar` needs it (a `ChainOk` fits). */
export interface VerifiedDelegation {
  depth: number;
  root: EntityRef;
  scope: { actions: string[]; resources: string[] };
  hops: readonly HopFact[];
}

/** What `toCedar` needs. Pass only facts that were verified. */
export interface ToCedarInput {
  principal: EntityRef;
  delegation?: VerifiedDelegation;
  goal?: Goal;
  intent?: string;
  agentRecord?: AgentRecord;
  /** Extra attributes for an entity of the chain or the goal owner (e.g. a Human's email and roles). */
  attributes?: (ref: EntityRef) => Record<string, unknown> | undefined;
}

/** Cedar entities and context produced from governance facts. */
export interface CedarFacts {
  entities: CedarEntity[];
  context: Record<string, unknown>;
}

/** `{ __entity: { type: 'Argus::Human', id } }` from a wire reference. */
export function entityValue(ref: EntityRef): CedarEntityRef {
  return { __entity: cedarUid(ref) };
}

function ownerRef(owner: EntityRef | string): EntityRef {
  return typeof owner === 'string' ? { type: 'Human', id: owner } : owner;
}

/** The attributes an agent record sets (the ones it lacks stay out). */
function recordAttributes(rec: AgentRecord): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  if (rec.trust !== undefined) attrs.trust = rec.trust;
  if (rec.owner !== undefined) attrs.owner = entityValue(ownerRef(rec.owner));
  if (rec.capabilities !== undefined) attrs.capabilities = [...rec.capabilities];
  if (rec.kind !== undefined) attrs.kind = rec.kind;
  if (rec.leaseAlive !== undefined) attrs.leaseAlive = rec.leaseAlive;
  if (rec.clearance !== undefined) attrs.clearance = rec.clearance;
  return attrs;
}

/**
 * An Agent's Cedar attributes. A type alias rather than an interface, so it fits any record of
 * Cedar values as it is (`owner` is a `CedarEntityRef`).
 */
export type AgentAttributes = {
  trust: string;
  kind: string;
  capabilities: string[];
  leaseAlive: boolean;
  owner?: CedarEntityRef;
  clearance?: string;
};

/**
 * The one Agent → Cedar mapping: an agent's registry record as its Cedar attributes, with the
 * fail-closed defaults of `UNKNOWN_AGENT_ATTRS` for whatever the record lacks. The decision point
 * uses it for the principal, an Agent resource and every agent of a delegation chain. On the
 * decision path: plain assignments, and `capabilities` is the record's own array (not copied).
 */
export function agentAttributes(rec: AgentRecord): AgentAttributes {
  const attrs: AgentAttributes = {
    trust: rec.trust ?? UNKNOWN_AGENT_ATTRS.trust,
    kind: rec.kind ?? UNKNOWN_AGENT_ATTRS.kind,
    capabilities: rec.capabilities ?? [],
    leaseAlive: rec.leaseAlive ?? UNKNOWN_AGENT_ATTRS.leaseAlive,
  };
  if (rec.owner !== undefined) attrs.owner = entityValue(ownerRef(rec.owner));
  if (rec.clearance !== undefined) attrs.clearance = rec.clearance;
  return attrs;
}

/**
 * Builds the principal, its delegation ancestors, the goal and the goal's owner as Cedar entities
 * (deduplicated by uid: cedar-wasm silently accepts duplicates), and the governance part of the
 * context.
 */
export function toCedar(input: ToCedarInput): CedarFacts {
  const byUid = new Map<string, CedarEntity>();
  const put = (ref: EntityRef, attrs: Record<string, unknown>, parents: EntityRef[]) => {
    const key = formatUid(ref);
    const prev = byUid.get(key);
    const extra = input.attributes?.(ref) ?? {};
    if (prev) {
      Object.assign(prev.attrs, attrs, extra);
      for (const p of parents) if (!prev.parents.some((q) => q.type === cedarType(p.type) && q.id === p.id)) prev.parents.push(cedarUid(p));
      return;
    }
    const defaults = bareType(ref.type) === 'Agent' ? UNKNOWN_AGENT_ATTRS : bareType(ref.type) === 'Human' ? DEFAULT_HUMAN_ATTRS : {};
    const merged: Record<string, unknown> = { ...defaults, ...attrs, ...extra };
    // Arrays are copied so no caller can mutate the shared defaults through an entity.
    for (const [k, v] of Object.entries(merged)) if (Array.isArray(v)) merged[k] = [...(v as unknown[])];
    byUid.set(key, { uid: cedarUid(ref), attrs: merged, parents: parents.map(cedarUid) });
  };

  const agentAttrs = (ref: EntityRef): Record<string, unknown> => {
    const rec = input.agentRecord;
    if (!rec || !sameEntity(ref, input.principal) || rec.id !== ref.id) return {};
    return recordAttributes(rec);
  };

  const d = input.delegation;
  if (d && d.hops.length > 0) {
    put(d.root, {}, []);
    for (const h of d.hops) put(h.to, agentAttrs(h.to), [h.from]);
  } else {
    put(input.principal, agentAttrs(input.principal), []);
  }
  const owner = input.agentRecord?.owner;
  if (owner !== undefined && input.agentRecord?.id === input.principal.id) put(ownerRef(owner), {}, []);

  const context: Record<string, unknown> = { intent: input.intent ?? '' };
  if (input.goal) {
    const g = input.goal;
    const goalRef = { type: 'Goal', id: g.id };
    const goalOwner: EntityRef = { type: 'Human', id: g.owner };
    put(goalOwner, {}, []);
    put(goalRef, { owner: entityValue(goalOwner), status: g.status, intents: [...g.intents] }, []);
    context.goal = entityValue(goalRef);
  }
  context.delegation =
    d && d.hops.length > 0 ? { depth: d.depth, root: entityValue(d.root), scope: [...new Set(d.scope.actions)] } : { depth: 0, scope: [] };
  return { entities: [...byUid.values()], context };
}
