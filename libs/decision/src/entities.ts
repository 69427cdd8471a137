import type { EntityData, EntityInput, EntityRef } from '@argus/contracts';
import { uidKey, type CedarEntity, type CedarValue } from '@argus/engine';
import { agentAttributes, bareType, cedarType, cedarUid, type AgentAttributes, type AgentRecord } from '@argus/governance';
import { InvalidInputError, UnavailableError } from '@argus/platform';
import { RequestRefusedError } from './request-checks.ts';

/** Entity types whose data only the registry and governance may provide — never a caller. */
export const REGISTRY_OWNED = new Set(['Agent', 'Human', 'McpServer', 'Goal']);

/** What the decision point reads from the registry. Every method may throw when the store is unreachable. */
export interface RegistryReader {
  getAgent(
    id: string,
  ): Promise<
    { id: string; trust: string; owner?: string; kind: string; capabilities: string[]; labels: Record<string, string> } | undefined
  >;
  getHuman(id: string): Promise<{ id: string; email: string; roles: string[] } | undefined>;
  getMcpServer(id: string): Promise<
    | {
        id: string;
        trust: string;
        tools: Array<{ name: string; hash: string; sensitivity?: string; allowedIntents?: string[]; category?: string }>;
      }
    | undefined
  >;
  /** `unknown` when the lease store cannot be read (the decision then fails closed). */
  leaseState(kind: 'agent' | 'mcp-server', id: string): Promise<'alive' | 'expired' | 'unknown'>;
  /** `registry.requireRegistered`: an Agent principal this registry does not know is a hard deny `agent_unknown`. */
  readonly requireRegistered?: boolean;
}

/** An agent's registry record as the Cedar attributes of its entity (owner and clearance when `relations`). */
export function registryAgentAttributes(
  id: string,
  agent: Awaited<ReturnType<RegistryReader['getAgent']>>,
  leaseAlive: boolean,
  relations = true,
): AgentAttributes {
  if (!agent) return agentAttributes({ id, leaseAlive });
  const record: AgentRecord = { id, trust: agent.trust, kind: agent.kind, capabilities: agent.capabilities, leaseAlive };
  if (relations && agent.owner) record.owner = agent.owner;
  if (relations && agent.labels.clearance) record.clearance = agent.labels.clearance;
  return agentAttributes(record);
}

/** Converts caller JSON into a Cedar value, qualifying `{__entity}` types. */
export function toCedarValue(value: unknown): CedarValue {
  if (value === null || typeof value !== 'object') return value as CedarValue;
  if (Array.isArray(value)) return value.map(toCedarValue);
  const rec = value as Record<string, unknown>;
  const e = rec.__entity as EntityRef | undefined;
  if (e && typeof e === 'object' && typeof e.type === 'string' && typeof e.id === 'string' && Object.keys(rec).length === 1) {
    return { __entity: cedarUid(e) };
  }
  return toCedarRecord(rec);
}

/** A JSON record (attributes, context) as Cedar values. */
export function toCedarRecord(record: Record<string, unknown>): Record<string, CedarValue> {
  const out: Record<string, CedarValue> = {};
  // The own enumerable keys, as `Object.entries` lists them, without its arrays.
  for (const k in record) if (Object.hasOwn(record, k)) out[k] = toCedarValue(record[k]);
  return out;
}

/** Facts the registry supplied about the principal and resource, for the decision's `facts`. */
export interface RegistryFacts {
  agent: { registered: boolean; trust: string; lease: 'alive' | 'expired' | 'unknown' };
  resource: { source: 'registry' | 'request'; serverTrust?: string };
  /** Caller-supplied attributes that were ignored because the registry owns them. */
  ignored: string[];
}

/**
 * Builds the entity map for one decision: registry-owned entities from the registry, the rest from
 * the caller. A caller may never supply data for a registry-owned type (400 naming the path).
 */
export async function buildEntities(
  input: { principal: EntityInput; resource: EntityInput; entities?: EntityData[] },
  registry: RegistryReader,
  entityTypes: ReadonlySet<string>,
  sharedEntities: EntityData[] = [],
): Promise<{ entities: Map<string, CedarEntity>; facts: RegistryFacts }> {
  const map = new Map<string, CedarEntity>();
  const ignored: string[] = [];
  checkType(input.principal.type, '/input/principal/type', entityTypes);
  checkType(input.resource.type, '/input/resource/type', entityTypes);

  const supplied = [...sharedEntities, ...(input.entities ?? [])];
  supplied.forEach((e, i) => {
    const path = i < sharedEntities.length ? `/entities/${i}` : `/input/entities/${i - sharedEntities.length}`;
    checkType(e.uid.type, `${path}/uid/type`, entityTypes);
    if (REGISTRY_OWNED.has(bareType(e.uid.type))) {
      throw new InvalidInputError(`entities of type \`${bareType(e.uid.type)}\` come from the registry and cannot be supplied`, [
        { path: `${path}/uid/type`, message: `\`${bareType(e.uid.type)}\` is registry-owned` },
      ]);
    }
    (e.parents ?? []).forEach((p, j) => checkType(p.type, `${path}/parents/${j}/type`, entityTypes));
    const uid = cedarUid(e.uid);
    const key = uidKey(uid);
    if (!map.has(key)) {
      const tags = e.tags ? { tags: toCedarRecord(e.tags) } : {};
      map.set(key, { uid, attrs: toCedarRecord(e.attrs ?? {}), parents: (e.parents ?? []).map(cedarUid), ...tags });
    }
  });

  if (REGISTRY_OWNED.has(bareType(input.principal.type)) && input.principal.attributes) {
    ignored.push('/input/principal/attributes');
  }

  const agentFacts: RegistryFacts['agent'] = { registered: false, trust: 'unregistered', lease: 'expired' };
  const principal = cedarUid(input.principal);
  if (bareType(principal.type) === 'Agent') {
    const [agent, lease] = await Promise.all([
      read(() => registry.getAgent(principal.id)),
      read(() => registry.leaseState('agent', principal.id)),
    ]);
    agentFacts.registered = agent !== undefined;
    agentFacts.trust = agent?.trust ?? 'unregistered';
    agentFacts.lease = lease;
    if (agent?.owner) await addHuman(map, registry, agent.owner);
    map.set(uidKey(principal), { uid: principal, attrs: registryAgentAttributes(principal.id, agent, lease === 'alive'), parents: [] });
  } else if (bareType(principal.type) === 'Human') {
    await addHuman(map, registry, principal.id);
  }

  const resourceFacts: RegistryFacts['resource'] = { source: 'request' };
  const resource = cedarUid(input.resource);
  const resourceKey = uidKey(resource);
  const requested = map.get(resourceKey);
  const requestAttrs = toCedarRecord(input.resource.attributes ?? {});
  const short = bareType(resource.type);
  if (short === 'Tool' || short === 'Resource' || short === 'Prompt') {
    const slash = resource.id.indexOf('/');
    const server = slash > 0 ? await read(() => registry.getMcpServer(resource.id.slice(0, slash))) : undefined;
    const attrs: Record<string, CedarValue> = { ...(requested?.attrs ?? {}), ...requestAttrs };
    const parents = [...(requested?.parents ?? [])];
    if (server) {
      resourceFacts.source = 'registry';
      resourceFacts.serverTrust = server.trust;
      const serverUid = { type: cedarType('McpServer'), id: server.id };
      map.set(uidKey(serverUid), { uid: serverUid, attrs: { trust: server.trust }, parents: [] });
      parents.push(serverUid);
      if (short === 'Tool') {
        for (const owned of ['serverTrust', 'descriptionHash'])
          if (owned in requestAttrs) ignored.push(`/input/resource/attributes/${owned}`);
        attrs.serverTrust = server.trust;
        const tool = toolNamed(server.tools, resource.id.slice(slash + 1));
        if (tool) attrs.descriptionHash = tool.hash;
        else delete attrs.descriptionHash;
        // Governance attributes the registry holds for the tool are registry-owned: they win over the request's.
        for (const owned of ['sensitivity', 'allowedIntents', 'category'] as const) {
          const value = tool?.[owned];
          if (value === undefined) continue;
          if (owned in requestAttrs) ignored.push(`/input/resource/attributes/${owned}`);
          attrs[owned] = toCedarValue(value);
        }
      }
    } else if (short === 'Tool' && !('serverTrust' in attrs)) {
      attrs.serverTrust = 'none';
    }
    map.set(resourceKey, { uid: resource, attrs, parents });
  } else if (short === 'McpServer') {
    const server = await read(() => registry.getMcpServer(resource.id));
    resourceFacts.source = 'registry';
    resourceFacts.serverTrust = server?.trust ?? 'unregistered';
    map.set(resourceKey, { uid: resource, attrs: { trust: server?.trust ?? 'unregistered' }, parents: [] });
  } else if (short === 'Agent') {
    const agent = await read(() => registry.getAgent(resource.id));
    // An Agent resource carries what the agent is, not whom it answers to: no owner or clearance.
    map.set(resourceKey, { uid: resource, attrs: registryAgentAttributes(resource.id, agent, false, false), parents: [] });
  } else if (short === 'Human') {
    await addHuman(map, registry, resource.id);
  } else if (!requested || input.resource.attributes) {
    map.set(resourceKey, { uid: resource, attrs: { ...(requested?.attrs ?? {}), ...requestAttrs }, parents: requested?.parents ?? [] });
  }
  return { entities: map, facts: { agent: agentFacts, resource: resourceFacts, ignored } };
}

/** A server's tool list as the registry answers it. */
type RegistryTools = NonNullable<Awaited<ReturnType<RegistryReader['getMcpServer']>>>['tools'];

/**
 * Each tool list's tools by name, built once per list: the registry view answers the same record
 * (and so the same list) until it changes, and a server may offer hundreds of tools.
 * INVARIANT: a list the registry answered is not edited in place (a change is a new record); a
 * list whose length changed is indexed again all the same.
 */
const toolIndexes = new WeakMap<RegistryTools, { length: number; byName: Map<string, RegistryTools[number]> }>();

/** The tool `name` of a server's list (the first of that name, as a scan would find it). */
function toolNamed(tools: RegistryTools, name: string): RegistryTools[number] | undefined {
  let index = toolIndexes.get(tools);
  if (!index || index.length !== tools.length) {
    const byName = new Map<string, RegistryTools[number]>();
    for (const t of tools) if (!byName.has(t.name)) byName.set(t.name, t);
    toolIndexes.set(tools, (index = { length: tools.length, byName }));
  }
  return index.byName.get(name);
}

async function addHuman(map: Map<string, CedarEntity>, registry: RegistryReader, id: string): Promise<void> {
  const uid = { type: cedarType('Human'), id };
  if (map.has(uidKey(uid))) return;
  const human = await read(() => registry.getHuman(id));
  const attrs: Record<string, CedarValue> = { roles: human?.roles ?? [] };
  if (human?.email) attrs.email = human.email;
  map.set(uidKey(uid), { uid, attrs, parents: [] });
}

/** A registry read; whatever it throws or rejects with becomes `UnavailableError`. */
function read<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn().catch(unavailable);
  } catch (err) {
    return Promise.reject(new UnavailableError('registry unavailable', err));
  }
}

function unavailable(err: unknown): never {
  throw new UnavailableError('registry unavailable', err);
}

/** Refuses (400, `unknown_entity_type`) a type the schema does not declare. */
export function checkType(type: string, path: string, entityTypes: ReadonlySet<string>): void {
  if (!entityTypes.has(cedarType(type))) {
    throw new RequestRefusedError('unknown_entity_type', `unknown entity type \`${type}\``, [
      { path, message: `\`${type}\` is not an entity type of the schema` },
    ]);
  }
}
