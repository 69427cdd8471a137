import { ConflictError, InvalidInputError, NotFoundError } from '@argus/platform';
import type {
  Agent,
  AgentPatch,
  DelegationGrant,
  Goal,
  GoalStatus,
  Human,
  HumanPatch,
  McpServer,
  McpServerPatch,
  NewAgent,
  NewDelegationGrant,
  NewGoal,
  NewHuman,
  NewMcpServer,
  TrustChange,
  TrustKind,
  TrustState,
  TrustTransition,
} from './ports.ts';
import { toolsHash } from './tool-hash.ts';
import { illegalTransitionMessage, isLegalToolChangeTransition, isLegalTransition } from './trust.ts';

/**
 * Record construction and state changes shared by every adapter, so SQLite and MongoDB cannot
 * disagree on defaults, versions or the trust state machine. Adapters only persist the results.
 */

function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A new human at version 1. */
export function newHuman(input: NewHuman, now: string): Human {
  return {
    id: input.id,
    email: input.email,
    roles: [...(input.roles ?? [])],
    ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** A new agent at version 1, `discovered` unless said otherwise. */
export function newAgent(input: NewAgent, now: string): Agent {
  return {
    id: input.id,
    name: input.name,
    ...(input.owner !== undefined ? { owner: input.owner } : {}),
    kind: input.kind ?? 'agent',
    trust: input.trust ?? 'discovered',
    capabilities: [...(input.capabilities ?? [])],
    labels: { ...(input.labels ?? {}) },
    ...(input.url !== undefined ? { url: input.url } : {}),
    ...(input.discoveredBy !== undefined ? { discoveredBy: input.discoveredBy } : {}),
    ...(input.lastSeen !== undefined ? { lastSeen: input.lastSeen } : {}),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** A new MCP server at version 1 with its tools hash computed. */
export function newMcpServer(input: NewMcpServer, now: string): McpServer {
  const tools = (input.tools ?? []).map((t) => ({ ...t }));
  return {
    id: input.id,
    name: input.name,
    url: input.url,
    transport: input.transport ?? 'streamable-http',
    trust: input.trust ?? 'discovered',
    tools,
    toolsHash: toolsHash(tools),
    ...(input.discoveredBy !== undefined ? { discoveredBy: input.discoveredBy } : {}),
    ...(input.lastSeen !== undefined ? { lastSeen: input.lastSeen } : {}),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** Throws `ConflictError` when `expectedVersion` is set and differs from the stored version. */
/**
 * The forms under which a server URL may be stored: as written and as the WHATWG URL parser
 * normalizes it (lower-case scheme and host, default port dropped, `/` for an empty path, no
 * trailing slash difference). Adapters match a `url` filter against all of them, so a scanner and
 * an admin who write the same endpoint differently still find one record.
 */
export function urlForms(url: string): string[] {
  const forms = new Set([url]);
  try {
    const href = new URL(url).href;
    forms.add(href);
    forms.add(href.endsWith('/') ? href.slice(0, -1) : `${href}/`);
  } catch {
    // Not a URL: only the text as written can match.
  }
  return [...forms];
}

export function checkVersion(kind: string, id: string, stored: number, expected: number | undefined): void {
  if (expected !== undefined && expected !== stored) {
    throw new ConflictError(`${kind} \`${id}\` is at version ${stored}, not ${expected}`, [
      { path: '/version', message: `stale version ${expected}` },
    ]);
  }
}

/**
 * The stored record an update of `kind` `id` starts from: `NotFoundError` when there is none,
 * `ConflictError` when it is not at the version the caller expects (if it named one).
 */
export function updatable<T extends { version: number }>(
  kind: string,
  id: string,
  current: T | undefined,
  expectedVersion: number | undefined,
): T {
  if (!current) throw notFound(kind, id);
  checkVersion(kind, id, current.version, expectedVersion);
  return current;
}

/** The patched human at the next version. */
export function patchHuman(current: Human, patch: HumanPatch, now: string): Human {
  return {
    ...current,
    ...defined(patch),
    roles: patch.roles ? [...patch.roles] : current.roles,
    updatedAt: now,
    version: current.version + 1,
  };
}

/** The patched agent at the next version. */
export function patchAgent(current: Agent, patch: AgentPatch, now: string): Agent {
  return { ...current, ...defined(patch), updatedAt: now, version: current.version + 1 };
}

/** The patched MCP server at the next version, tools hash recomputed. */
export function patchMcpServer(current: McpServer, patch: McpServerPatch, now: string): McpServer {
  const next: McpServer = { ...current, ...defined(patch), updatedAt: now, version: current.version + 1 };
  if (patch.tools) next.toolsHash = toolsHash(next.tools);
  return next;
}

/** The history entry recording the initial state of a new agent or server. */
export function initialTransition(kind: TrustKind, id: string, trust: TrustState, by: string, now: string): TrustTransition {
  return { kind, id, from: null, to: trust, by, at: now, reason: 'registered' };
}

/**
 * Applies a trust change to a record per the state machine (`trust.ts`). Throws `ConflictError`
 * for an illegal move or a stale version. The caller persists both results in one write.
 */
export function applyTrust<T extends Agent | McpServer>(
  kind: TrustKind,
  current: T,
  change: TrustChange,
  now: string,
  bumpVersion = true,
): { record: T; transition: TrustTransition } {
  checkVersion(kind, current.id, current.version, change.expectedVersion);
  const legal = change.diff ? isLegalToolChangeTransition(current.trust, change.to) : isLegalTransition(current.trust, change.to);
  if (!legal) {
    throw new ConflictError(illegalTransitionMessage(current.trust, change.to), [
      { path: '/to', message: illegalTransitionMessage(current.trust, change.to) },
    ]);
  }
  const record = { ...current, trust: change.to, updatedAt: now, version: bumpVersion ? current.version + 1 : current.version };
  const transition: TrustTransition = {
    kind,
    id: current.id,
    from: current.trust,
    to: change.to,
    by: change.by,
    at: now,
    reason: change.reason,
    ...(change.diff ? { diff: change.diff } : {}),
  };
  return { record, transition };
}

/** `NotFoundError` for a missing registry record. */
export function notFound(kind: string, id: string): NotFoundError {
  return new NotFoundError(`${kind} \`${id}\` not found`);
}

/** `ConflictError` for a duplicate id. */
export function duplicate(kind: string, id: string): ConflictError {
  return new ConflictError(`${kind} \`${id}\` already exists`, [{ path: '/id', message: 'already exists' }]);
}

/** A new delegation grant. */
export function newGrant(input: NewDelegationGrant, now: string): DelegationGrant {
  return {
    id: input.id,
    from: { type: input.from.type, id: input.from.id },
    to: { type: input.to.type, id: input.to.id },
    scope: { actions: [...input.scope.actions], resources: [...input.scope.resources] },
    expiresAt: normalizeInstant(input.expiresAt),
    ...(input.maxDepth !== undefined ? { maxDepth: input.maxDepth } : {}),
    ...(input.parentId !== undefined ? { parentId: input.parentId } : {}),
    createdBy: input.createdBy,
    createdAt: now,
  };
}

/**
 * Normalizes an instant to `Date#toISOString` form so stored instants compare as strings.
 * INVARIANT: adapters compare `expiresAt` as strings, relying on this normal form.
 */
export function normalizeInstant(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InvalidInputError(`invalid instant \`${value.slice(0, 64)}\``, [{ path: '/expiresAt', message: 'is not a date-time' }]);
  return new Date(t).toISOString();
}

/** Whether a grant is usable at `at`: not revoked and not expired. */
export function isGrantActive(grant: DelegationGrant, at: string): boolean {
  return grant.revokedAt === undefined && Date.parse(grant.expiresAt) > Date.parse(at);
}

/** A new goal at version 1, `active` unless said otherwise. */
export function newGoal(input: NewGoal, now: string): Goal {
  return {
    id: input.id,
    owner: input.owner,
    objective: input.objective,
    intents: [...input.intents],
    agents: [...input.agents],
    expiresAt: normalizeInstant(input.expiresAt),
    budget: { ...(input.budget ?? {}) },
    status: input.status ?? 'active',
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

const TERMINAL_GOAL: ReadonlySet<GoalStatus> = new Set(['completed', 'cancelled', 'expired']);

/** The goal moved to `status`; `ConflictError` from a terminal status or on a stale version. */
export function applyGoalStatus(current: Goal, status: GoalStatus, expectedVersion: number | undefined, now: string): Goal {
  checkVersion('goal', current.id, current.version, expectedVersion);
  if (TERMINAL_GOAL.has(current.status)) {
    throw new ConflictError(`goal \`${current.id}\` is \`${current.status}\` (terminal)`, [
      { path: '/status', message: 'terminal status' },
    ]);
  }
  return { ...current, status, updatedAt: now, version: current.version + 1 };
}
