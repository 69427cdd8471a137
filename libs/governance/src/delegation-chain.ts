/**
 * Delegation-chain verification: on whose authority does an agent act?
 *
 * A chain lists entities root first — a Human, then each agent that received a grant from the one
 * before — and ends at the principal. Every failure is a hard deny with a stable code that no
 * policy can override.
 */
import type { DenyCode, EntityRef } from '@argus/contracts';
import { allows, isSubset, widenedPatterns, type Scope } from './scope.ts';
import { isExpired, parseTime, toMillis, type Instant } from './time.ts';
import { bareType, formatUid, sameEntity } from './uid.ts';

/** Lifecycle of a grant. Expiry is computed from `expiresAt`, not stored. */
export type GrantStatus = 'active' | 'revoked';

/**
 * A delegation grant: `from` lets `to` act within `scope` until `expiresAt`. Structurally a
 * superset of the store's `DelegationGrant`, so store records can be passed as they are: a grant
 * is revoked when `revokedAt` is set or `status` is `revoked`.
 */
export interface Grant {
  id: string;
  /** A Human (root grant) or an Agent (sub-delegation). */
  from: EntityRef;
  /** Always an Agent. */
  to: EntityRef;
  scope: Scope;
  /** ISO-8601. */
  expiresAt: string;
  /**
   * How many hops a chain may have from this grant (counted as 1) down to the principal.
   * 1 forbids re-delegation. Undefined: only the configured maximum applies.
   */
  maxDepth?: number;
  /** Absent on store records (which use `revokedAt`). */
  status?: GrantStatus;
  /** The grant the grantor held when it sub-delegated; absent for a root grant. Used by cascade revocation. */
  parentId?: string;
  /** ISO-8601. */
  createdAt?: string;
  /** ISO-8601, set when revoked. */
  revokedAt?: string;
}

/** Stable reason codes of a chain that does not hold (catalogued in `@argus/contracts`). */
export type DelegationCode = Extract<
  DenyCode,
  | 'delegation_unknown_hop'
  | 'delegation_expired'
  | 'delegation_revoked'
  | 'delegation_scope_widened'
  | 'delegation_out_of_scope'
  | 'delegation_depth_exceeded'
  | 'delegation_outlives_parent'
  | 'delegation_cycle'
  | 'delegation_wrong_principal'
  | 'delegation_root_not_human'
>;

/** Finds the grant from one entity to the next. Pure lookups only: prefetch with `prefetchGrants`. */
export type GrantLookup = (from: EntityRef, to: EntityRef) => Grant | undefined;

/** One verified hop of a chain. */
export interface HopFact {
  /** 1-based position: hop k is the grant from `chain[k-1]` to `chain[k]`. */
  hop: number;
  from: EntityRef;
  to: EntityRef;
  grantId: string;
  scope: Scope;
  expiresAt: string;
  maxDepth?: number;
}

/** What `verifyChain` needs. */
export interface VerifyChainInput {
  /** Root Human first, ending at the principal. */
  chain: readonly EntityRef[];
  /** The principal of the decision; the chain must end here. Defaults to the last element. */
  principal?: EntityRef;
  grants: GrantLookup;
  /** When given with `resource`, the last hop's scope must allow it. */
  action?: string;
  resource?: EntityRef;
  now: Instant;
  /** Configured maximum number of hops (chain length − 1). */
  maxDepth: number;
}

/** A chain that holds. `scope` is the effective scope: the last hop's. */
export interface ChainOk {
  ok: true;
  depth: number;
  root: EntityRef;
  scope: Scope;
  hops: HopFact[];
  grantIds: string[];
}

/** A chain that does not hold, at hop `hop` (0 = the chain as a whole / the root). */
export interface ChainFailure {
  ok: false;
  code: DelegationCode;
  hop: number;
  message: string;
  /** The hops verified before the failing one (for `explain: "full"`). */
  hops: HopFact[];
}

/** The tagged answer of `verifyChain`. */
export type ChainResult = ChainOk | ChainFailure;

/** True when a grant is revoked (`revokedAt` set, or `status: 'revoked'`). Fails closed on an unknown status. */
export function isRevoked(grant: Pick<Grant, 'status' | 'revokedAt'>): boolean {
  return grant.revokedAt !== undefined || (grant.status !== undefined && grant.status !== 'active');
}

/**
 * Verifies a delegation chain hop by hop, root first, and returns the first failure met.
 *
 * Order of checks: shape (root is a Human; ends at the principal; no entity twice; only agents
 * receive grants; depth ≤ `maxDepth`), then for each hop: a grant exists, is not revoked, not
 * expired, its own `maxDepth` admits the hops below it, it was delegated under the previous hop's
 * grant (its `parentId`, when it has one), it is a subset of its parent and expires no later than
 * its parent; finally the action and resource (when given) are inside the last hop's scope.
 * INVARIANT: since each hop is a subset of its parent, checking the last hop's scope is checking
 * all of them.
 */
export function verifyChain(input: VerifyChainInput): ChainResult {
  const { chain, grants } = input;
  const now = toMillis(input.now);
  const hops: HopFact[] = [];
  const fail = (code: DelegationCode, hop: number, message: string): ChainFailure => ({ ok: false, code, hop, message, hops: [...hops] });
  const root = chain[0];
  const last = chain[chain.length - 1];
  if (!root || !last) return fail('delegation_root_not_human', 0, 'delegation chain is empty');
  if (bareType(root.type) !== 'Human') {
    return fail('delegation_root_not_human', 0, `chain root \`${formatUid(root)}\` is not a Human`);
  }
  if (input.principal && !sameEntity(last, input.principal)) {
    return fail(
      'delegation_wrong_principal',
      chain.length - 1,
      `chain ends at \`${formatUid(last)}\`, not at the principal \`${formatUid(input.principal)}\``,
    );
  }
  if (chain.length < 2) return fail('delegation_wrong_principal', 0, 'chain holds only its root human: no agent received a grant');
  const seen = new Set<string>();
  for (let i = 0; i < chain.length; i++) {
    const uid = formatUid(chain[i]!);
    if (seen.has(uid)) return fail('delegation_cycle', i, `\`${uid}\` appears twice in the chain`);
    seen.add(uid);
    if (i > 0 && bareType(chain[i]!.type) !== 'Agent') {
      return fail('delegation_unknown_hop', i, `hop ${i}: \`${uid}\` is not an Agent; only agents receive grants`);
    }
  }
  const depth = chain.length - 1;
  if (depth > input.maxDepth) {
    return fail('delegation_depth_exceeded', input.maxDepth + 1, `chain depth ${depth} exceeds the maximum of ${input.maxDepth}`);
  }

  let parent: Grant | undefined;
  for (let hop = 1; hop <= depth; hop++) {
    const from = chain[hop - 1]!;
    const to = chain[hop]!;
    const grant = grants(from, to);
    const edge = `\`${formatUid(from)}\` → \`${formatUid(to)}\``;
    if (!grant || !sameEntity(grant.from, from) || !sameEntity(grant.to, to)) {
      return fail('delegation_unknown_hop', hop, `hop ${hop}: no grant ${edge}`);
    }
    if (isRevoked(grant)) return fail('delegation_revoked', hop, `hop ${hop}: grant \`${grant.id}\` ${edge} is revoked`);
    if (isExpired(grant.expiresAt, now)) {
      return fail('delegation_expired', hop, `hop ${hop}: grant \`${grant.id}\` ${edge} expired at ${grant.expiresAt}`);
    }
    const below = depth - hop + 1;
    if (grant.maxDepth !== undefined && below > grant.maxDepth) {
      return fail(
        'delegation_depth_exceeded',
        hop,
        `hop ${hop}: grant \`${grant.id}\` allows ${grant.maxDepth} hop(s) from it, the chain has ${below}`,
      );
    }
    if (parent) {
      // A sub-grant stands for the authority it was carved from: presented under another root's grant
      // it would be a chain that was never delegated (grants stored without a parent are not linked).
      if (grant.parentId !== undefined && grant.parentId !== parent.id) {
        return fail(
          'delegation_unknown_hop',
          hop,
          `hop ${hop}: grant \`${grant.id}\` ${edge} was delegated under \`${grant.parentId}\`, not under \`${parent.id}\` (the chain's previous hop)`,
        );
      }
      if (!isSubset(grant.scope, parent.scope)) {
        const w = widenedPatterns(grant.scope, parent.scope);
        const what = [...w.actions.map((a) => `action \`${a}\``), ...w.resources.map((r) => `resource \`${r}\``)].join(', ');
        return fail('delegation_scope_widened', hop, `hop ${hop}: grant \`${grant.id}\` widens its parent's scope with ${what}`);
      }
      if (parseTime(grant.expiresAt) > parseTime(parent.expiresAt)) {
        return fail(
          'delegation_outlives_parent',
          hop,
          `hop ${hop}: grant \`${grant.id}\` expires at ${grant.expiresAt}, after its parent \`${parent.id}\` (${parent.expiresAt})`,
        );
      }
    }
    hops.push({
      hop,
      from,
      to,
      grantId: grant.id,
      scope: grant.scope,
      expiresAt: grant.expiresAt,
      ...(grant.maxDepth === undefined ? {} : { maxDepth: grant.maxDepth }),
    });
    parent = grant;
  }
  const scope = parent!.scope;
  if (input.action !== undefined && input.resource !== undefined && !allows(scope, input.action, input.resource)) {
    return fail(
      'delegation_out_of_scope',
      depth,
      `\`${input.action}\` on \`${formatUid(input.resource)}\` is outside the scope delegated to \`${formatUid(last)}\``,
    );
  }
  return { ok: true, depth, root, scope, hops, grantIds: hops.map((h) => h.grantId) };
}

/**
 * Fetches the grant of every hop of `chain` (concurrently) and returns a synchronous lookup over
 * them, so the pure verifier can run on data the caller loaded from its store.
 */
export async function prefetchGrants(
  chain: readonly EntityRef[],
  fetch: (from: EntityRef, to: EntityRef) => Promise<Grant | undefined>,
): Promise<GrantLookup> {
  const pairs = chain.slice(1).map((to, i) => [chain[i]!, to] as const);
  const found = await Promise.all(pairs.map(([from, to]) => fetch(from, to)));
  const byEdge = new Map<string, Grant>();
  pairs.forEach(([from, to], i) => {
    const g = found[i];
    if (g) byEdge.set(`${formatUid(from)}>${formatUid(to)}`, g);
  });
  return (from, to) => byEdge.get(`${formatUid(from)}>${formatUid(to)}`);
}

/**
 * Re-reads the hops of `grants` whose grant was delegated under another grant than the one chosen
 * for the hop before (an agent holding grants from two roots, each with its own sub-grant to the
 * same agent): `findLinked(from, to, parentId)` answers the pair's grant under `parentId`, if any.
 * Root first, so each repaired hop is the parent the next one is matched against. Only a
 * mismatched hop costs a lookup; without one the answer is `grants` itself.
 */
export async function linkGrants(
  chain: readonly EntityRef[],
  grants: GrantLookup,
  findLinked: (from: EntityRef, to: EntityRef, parentId: string) => Promise<Grant | undefined>,
): Promise<GrantLookup> {
  const chosen = new Map<string, Grant>();
  const key = (from: EntityRef, to: EntityRef) => `${formatUid(from)}>${formatUid(to)}`;
  let previous: Grant | undefined;
  for (let hop = 1; hop < chain.length; hop++) {
    const from = chain[hop - 1]!;
    const to = chain[hop]!;
    let grant = grants(from, to);
    if (previous && grant?.parentId !== undefined && grant.parentId !== previous.id) {
      const linked = await findLinked(from, to, previous.id);
      if (linked && sameEntity(linked.from, from) && sameEntity(linked.to, to)) {
        grant = linked;
        chosen.set(key(from, to), linked);
      }
    }
    previous = grant;
  }
  if (chosen.size === 0) return grants;
  return (from, to) => chosen.get(key(from, to)) ?? grants(from, to);
}

/** A synchronous lookup over a list of grants; when several link the same pair, an active unexpired one wins. */
export function grantLookupFrom(list: readonly Grant[], now: Instant): GrantLookup {
  const at = toMillis(now);
  const byEdge = new Map<string, Grant>();
  for (const g of list) {
    const key = `${formatUid(g.from)}>${formatUid(g.to)}`;
    const prev = byEdge.get(key);
    const usable = (x: Grant) => !isRevoked(x) && !isExpired(x.expiresAt, at);
    if (!prev || (!usable(prev) && usable(g))) byEdge.set(key, g);
  }
  return (from, to) => byEdge.get(`${formatUid(from)}>${formatUid(to)}`);
}

/**
 * The ids of every grant below `rootId` in a grant forest (by `parentId`), root excluded, in
 * breadth-first order. What a cascade revocation revokes; cycle-safe.
 */
export function descendantGrantIds(rootId: string, all: readonly Pick<Grant, 'id' | 'parentId'>[]): string[] {
  const children = new Map<string, string[]>();
  for (const g of all) {
    if (g.parentId === undefined) continue;
    const list = children.get(g.parentId) ?? [];
    list.push(g.id);
    children.set(g.parentId, list);
  }
  const out: string[] = [];
  const seen = new Set([rootId]);
  const queue = [rootId];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}
