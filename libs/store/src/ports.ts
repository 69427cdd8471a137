/**
 * Storage ports: one interface per capability. Adapters live in their own folders
 * (`sqlite/`, `mongo/`, `redis/`, `memory/`) and all pass the same contract suites (`testing/`).
 *
 * Conventions shared by every port:
 * - timestamps are ISO-8601 strings (UTC), produced by the store's clock unless given;
 * - `get*` answers `undefined` for a missing record; writes throw `NotFoundError`,
 *   `ConflictError` (duplicate id, stale `version`, illegal transition) or `UnavailableError`;
 * - every list is bounded: `limit` defaults to {@link DEFAULT_PAGE_LIMIT} and is capped at
 *   {@link MAX_PAGE_LIMIT}; `nextCursor` is opaque and present only when more items exist.
 */
import type { EntityRef } from '@argus/contracts';

export type { EntityRef };

/** Default page size of every list. */
export const DEFAULT_PAGE_LIMIT = 50;
/** Largest page any list answers, whatever the caller asks. */
export const MAX_PAGE_LIMIT = 500;

/** Paging request: an opaque cursor from a previous page and a bounded size. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

/** One page of a list. */
export interface Page<T> {
  items: T[];
  /** Present when another page follows; pass it back as `cursor`. */
  nextCursor?: string;
}

/** Options on an update: optimistic concurrency against the record's `version`. */
export interface WriteOptions {
  /** When set, the write fails with `ConflictError` unless the stored version matches. */
  expectedVersion?: number;
}

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

/** Trust states of agents and MCP servers. `revoked` is terminal. */
export type TrustState = 'discovered' | 'pending' | 'trusted' | 'quarantined' | 'revoked';

/** Every trust state, in lifecycle order. */
export const TRUST_STATES: readonly TrustState[] = ['discovered', 'pending', 'trusted', 'quarantined', 'revoked'];

/** Registry entities that carry a trust state. */
export type TrustKind = 'agent' | 'mcp-server';

/** Every kind of registry record (the `kind` of `registry.changed` events and leases). */
export type RegistryKind = 'human' | TrustKind;

/** A person who owns agents and roots delegation chains. */
export interface Human {
  id: string;
  email: string;
  roles: string[];
  displayName?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Fields a caller supplies to create a human. */
export interface NewHuman {
  id: string;
  email: string;
  roles?: string[];
  displayName?: string;
}

/** Fields that may change on a human. */
export type HumanPatch = Partial<Omit<NewHuman, 'id'>>;

/** An AI agent (or sub-agent) known to the registry. */
export interface Agent {
  id: string;
  name: string;
  /** Id of the owning human; absent for agents a scanner found before anyone claimed them. */
  owner?: string;
  /** Free classification, e.g. `assistant`, `sub-agent`, `workflow`. */
  kind: string;
  trust: TrustState;
  capabilities: string[];
  labels: Record<string, string>;
  url?: string;
  /** Id of the scanner that first reported it. */
  discoveredBy?: string;
  lastSeen?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Fields a caller supplies to create an agent. `trust` defaults to `discovered`. */
export interface NewAgent {
  id: string;
  name: string;
  owner?: string;
  kind?: string;
  trust?: TrustState;
  capabilities?: string[];
  labels?: Record<string, string>;
  url?: string;
  discoveredBy?: string;
  lastSeen?: string;
}

/** Fields that may change on an agent (trust changes go through `setTrust`). */
export type AgentPatch = Partial<Omit<NewAgent, 'id' | 'trust' | 'discoveredBy'>>;

/** Filters for listing agents. */
export interface AgentQuery extends PageQuery {
  trust?: TrustState;
  owner?: string;
  kind?: string;
  /** A label that must be present, with this value when `value` is set. */
  label?: { key: string; value?: string };
  discoveredBy?: string;
}

/** How an MCP server is reached. */
export type McpTransport = 'streamable-http' | 'sse' | 'stdio' | 'websocket';

/** One tool an MCP server offers, with the hash that detects a changed description. */
export interface McpTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** sha256 (hex) of the canonical JSON of `{name, description, inputSchema}`. */
  hash: string;
  /**
   * Governance attributes (set by admins, or filled by discovery): the decision API gives them to
   * Cedar as the Tool's `sensitivity`, `allowedIntents` and `category`. Not part of `hash`.
   */
  sensitivity?: 'public' | 'internal' | 'confidential' | 'high' | 'secret';
  allowedIntents?: string[];
  category?: string;
  labels?: Record<string, string>;
}

/** A tool as a caller reports it; the hash is computed by the store's caller with `toolHash`. */
export type McpToolInput = Omit<McpTool, 'hash'>;

/** An MCP server known to the registry. */
export interface McpServer {
  id: string;
  name: string;
  url: string;
  transport: McpTransport;
  trust: TrustState;
  tools: McpTool[];
  /** sha256 over every tool's name and hash, sorted by name: changes when any tool changes. */
  toolsHash: string;
  discoveredBy?: string;
  lastSeen?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Fields a caller supplies to create an MCP server. */
export interface NewMcpServer {
  id: string;
  name: string;
  url: string;
  transport?: McpTransport;
  trust?: TrustState;
  tools?: McpTool[];
  discoveredBy?: string;
  lastSeen?: string;
}

/** Fields that may change on an MCP server. `toolsHash` is recomputed by the store. */
export type McpServerPatch = Partial<Omit<NewMcpServer, 'id' | 'trust' | 'discoveredBy'>>;

/** Filters for listing MCP servers. */
export interface McpServerQuery extends PageQuery {
  trust?: TrustState;
  transport?: McpTransport;
  discoveredBy?: string;
  /** Servers that listen at this URL, compared in its normalized form (see `urlForms`). */
  url?: string;
}

/** Filters for listing humans. */
export interface HumanQuery extends PageQuery {
  role?: string;
}

/** What changed in an MCP server's tool list (the "rug-pull" check). */
export interface ToolDiff {
  added: string[];
  removed: string[];
  /** Tools whose description or input schema changed (hash differs). */
  changed: string[];
}

/** A trust change to apply. */
export interface TrustChange {
  to: TrustState;
  /** Subject of the caller (admin, scanner id, `system`). */
  by: string;
  reason: string;
  /**
   * Set for a change caused by a changed tool list: then `to` may equal the current state (the
   * diff is recorded without a move) and `trusted → pending` is allowed.
   */
  diff?: ToolDiff;
  /** Fails with `ConflictError` unless the record is at this version. */
  expectedVersion?: number;
}

/** One recorded trust transition, readable per entity. */
export interface TrustTransition {
  kind: TrustKind;
  id: string;
  from: TrustState | null;
  to: TrustState;
  by: string;
  at: string;
  reason: string;
  diff?: ToolDiff;
}

/** The result of a trust change: the updated record and the history entry written. */
export interface TrustChangeResult<T> {
  record: T;
  transition: TrustTransition;
}

/**
 * The registry catalogue: humans, agents, MCP servers and the trust history of the last two.
 * Creating an agent or server also records its initial state (`from: null`) in the history.
 */
export interface RegistryStore {
  createHuman(input: NewHuman): Promise<Human>;
  getHuman(id: string): Promise<Human | undefined>;
  listHumans(query?: HumanQuery): Promise<Page<Human>>;
  updateHuman(id: string, patch: HumanPatch, options?: WriteOptions): Promise<Human>;
  /** Answers false when there was nothing to delete. */
  deleteHuman(id: string): Promise<boolean>;

  /** `by` is recorded as the author of the initial history entry. */
  createAgent(input: NewAgent, by: string): Promise<Agent>;
  getAgent(id: string): Promise<Agent | undefined>;
  listAgents(query?: AgentQuery): Promise<Page<Agent>>;
  updateAgent(id: string, patch: AgentPatch, options?: WriteOptions): Promise<Agent>;
  /**
   * Moves the `lastSeen` of these agents forward to `at` (an agent seen later keeps its time; an
   * unknown id is skipped) in one write. An observation, not an edit: neither `version` nor
   * `updatedAt` changes, so traffic never makes an admin's `If-Match` stale. Answers how many moved.
   */
  markSeen(ids: readonly string[], at: string): Promise<number>;
  deleteAgent(id: string): Promise<boolean>;

  createMcpServer(input: NewMcpServer, by: string): Promise<McpServer>;
  getMcpServer(id: string): Promise<McpServer | undefined>;
  listMcpServers(query?: McpServerQuery): Promise<Page<McpServer>>;
  /**
   * Updates fields; when `trust` is given the trust change is applied in the same write (used
   * when a changed tool list demotes a server), so the change and its history cannot diverge.
   */
  updateMcpServer(id: string, patch: McpServerPatch, options?: WriteOptions & { trust?: TrustChange }): Promise<McpServer>;
  deleteMcpServer(id: string): Promise<boolean>;

  /** Applies a legal transition (see `trust.ts`) and records it; `ConflictError` when illegal. */
  setTrust(kind: 'agent', id: string, change: TrustChange): Promise<TrustChangeResult<Agent>>;
  setTrust(kind: 'mcp-server', id: string, change: TrustChange): Promise<TrustChangeResult<McpServer>>;
  setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>>;
  /** Trust history of one entity, oldest first. Kept after the entity is deleted. */
  trustHistory(kind: TrustKind, id: string, query?: PageQuery): Promise<Page<TrustTransition>>;
  /**
   * A value that changes whenever a record may have changed, by any writer (optional: an adapter
   * that cannot tell leaves it out). A cache may keep serving a record past its TTL while the value
   * is the one it read before loading the record.
   */
  changeToken?(): string;
}

// ---------------------------------------------------------------------------------------------
// Policy-set versions
// ---------------------------------------------------------------------------------------------

/** One file of a policy set. */
export interface PolicyFile {
  path: string;
  text: string;
}

/** A saved policy-set version. `version` is the content hash (see `policyVersionHash`). */
export interface PolicyVersion {
  version: string;
  files: PolicyFile[];
  author: string;
  message: string;
  createdAt: string;
}

/** A policy-set version without its files, as lists return it. */
export type PolicyVersionSummary = Omit<PolicyVersion, 'files'> & { fileCount: number };

/** What to save. */
export interface NewPolicyVersion {
  version: string;
  files: PolicyFile[];
  author: string;
  message: string;
}

/** One activation in the history: which version became active, by whom, and why. */
export interface PolicyActivation {
  seq: number;
  version: string;
  action: 'activate' | 'rollback';
  by: string;
  message: string;
  at: string;
  /** The version that was active before, if any. */
  previous?: string;
}

/** Policy-set versions: saved content, the active pointer and its history. */
export interface PolicyVersionStore {
  /** Saves a version; saving identical content again is a no-op answering `created: false`. */
  saveVersion(input: NewPolicyVersion): Promise<{ version: PolicyVersion; created: boolean }>;
  getVersion(version: string): Promise<PolicyVersion | undefined>;
  /** Saved versions, newest first. */
  listVersions(query?: PageQuery): Promise<Page<PolicyVersionSummary>>;
  /** Makes a saved version the active one; `NotFoundError` when it was never saved. */
  activate(version: string, by: string, message: string): Promise<PolicyActivation>;
  /** Activates an earlier version, recorded as a `rollback` entry. */
  rollback(version: string, by: string, message: string): Promise<PolicyActivation>;
  /** The active version, if one was ever activated. */
  getActive(): Promise<PolicyVersion | undefined>;
  /** Activations, newest first. */
  activations(query?: PageQuery): Promise<Page<PolicyActivation>>;
}

// ---------------------------------------------------------------------------------------------
// Delegations
// ---------------------------------------------------------------------------------------------

/** What a grant allows: action names and resource patterns such as `Tool::"crm.*"`. */
export interface DelegationScope {
  actions: string[];
  resources: string[];
}

/** A delegation grant from a human or agent to an agent. */
export interface DelegationGrant {
  id: string;
  from: EntityRef;
  to: EntityRef;
  scope: DelegationScope;
  expiresAt: string;
  maxDepth?: number;
  /** The grant the granter itself holds (absent when the granter is a human). */
  parentId?: string;
  createdBy: string;
  createdAt: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

/** What a caller supplies to create a grant. */
export type NewDelegationGrant = Omit<DelegationGrant, 'createdAt' | 'revokedAt' | 'revokedBy' | 'revokeReason'>;

/** Filters for listing grants. */
export interface DelegationQuery extends PageQuery {
  from?: EntityRef;
  to?: EntityRef;
  /** true: neither revoked nor expired at `at` (default now); false: revoked or expired. */
  active?: boolean;
  at?: string;
}

/** Delegation grants and their cascading revocation. */
export interface DelegationStore {
  create(input: NewDelegationGrant): Promise<DelegationGrant>;
  get(id: string): Promise<DelegationGrant | undefined>;
  /** Newest first. */
  list(query?: DelegationQuery): Promise<Page<DelegationGrant>>;
  /** The newest grant from `from` to `to` that is neither revoked nor expired at `at` (default now). */
  findActive(from: EntityRef, to: EntityRef, at?: string): Promise<DelegationGrant | undefined>;
  /**
   * Revokes the grant and every grant whose `parentId` chain leads to it. Answers the ids newly
   * revoked (already revoked grants are left as they were); `NotFoundError` for an unknown id.
   */
  revoke(id: string, by: string, reason: string): Promise<string[]>;
}

// ---------------------------------------------------------------------------------------------
// Goals
// ---------------------------------------------------------------------------------------------

/** Goal lifecycle. `completed`, `cancelled` and `expired` are terminal. */
export type GoalStatus = 'active' | 'paused' | 'completed' | 'cancelled' | 'expired';

/** Limits a goal's work may consume. */
export interface GoalBudget {
  maxActions?: number;
  maxTokens?: number;
  maxCostUsd?: number;
}

/** A goal a human sets for agents, with the intents it allows. */
export interface Goal {
  id: string;
  owner: string;
  objective: string;
  intents: string[];
  agents: string[];
  expiresAt: string;
  budget: GoalBudget;
  status: GoalStatus;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** What a caller supplies to create a goal (status defaults to `active`). */
export type NewGoal = Omit<Goal, 'createdAt' | 'updatedAt' | 'version' | 'status' | 'budget'> & {
  status?: GoalStatus;
  budget?: GoalBudget;
};

/** Filters for listing goals. */
export interface GoalQuery extends PageQuery {
  owner?: string;
  status?: GoalStatus;
  agent?: string;
}

/** Goals and their status. */
export interface GoalStore {
  create(input: NewGoal): Promise<Goal>;
  get(id: string): Promise<Goal | undefined>;
  /** Ordered by id. */
  list(query?: GoalQuery): Promise<Page<Goal>>;
  /** Moves a goal to `status`; `ConflictError` from a terminal status or on a stale version. */
  updateStatus(id: string, status: GoalStatus, options?: WriteOptions): Promise<Goal>;
}

// ---------------------------------------------------------------------------------------------
// Leases and events (Redis or in-process)
// ---------------------------------------------------------------------------------------------

/**
 * A lease read. `expired`: no live lease (never renewed, or the TTL passed). `unknown`: the
 * backing store cannot be reached — callers on the decision path must fail closed.
 */
export interface LeaseState {
  state: 'alive' | 'expired' | 'unknown';
  expiresAt?: string;
}

/** Heartbeat leases with a TTL. */
export interface LeaseStore {
  /** Extends the lease to now + `ttlMs`; `UnavailableError` when the store cannot be reached. */
  renew(kind: string, id: string, ttlMs: number): Promise<LeaseState>;
  /** Never throws: an unreachable store answers `unknown`. */
  get(kind: string, id: string): Promise<LeaseState>;
  /** Drops the lease (e.g. when the entity is deleted). */
  drop(kind: string, id: string): Promise<void>;
  close(): Promise<void>;
}

/** Topics other components publish and listen to. */
export const TOPICS = {
  registryChanged: 'registry.changed',
  policyChanged: 'policy.changed',
  delegationRevoked: 'delegation.revoked',
  goalChanged: 'goal.changed',
  /** A switch was stopped or resumed (`SwitchChangedEvent`): decision points re-read the switch store. */
  switchChanged: 'switch.changed',
} as const;

/** Payload of `registry.changed`. `change: 'seen'` is a lastSeen-only refresh by a scanner. */
export interface RegistryChangedEvent {
  kind: RegistryKind;
  id: string;
  change: 'created' | 'updated' | 'deleted' | 'trust' | 'seen';
  trust?: TrustState;
}

/** A handler of bus messages. Errors it throws are contained (logged by the bus, not rethrown). */
export type EventHandler = (payload: unknown, topic: string) => void | Promise<void>;

/**
 * Publish/subscribe between components: in-process in the embedded mode, Redis pub/sub between
 * processes. Local subscribers always receive local publications, even when Redis is down.
 */
export interface EventBus {
  /** Delivers locally, then to other processes; rejects with `UnavailableError` when the remote leg fails. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Answers the function that unsubscribes. */
  subscribe(topic: string, handler: EventHandler): () => void;
  /**
   * Called after messages from other processes may have been missed (the remote leg was down and
   * is back), so a subscriber that caches what events invalidate can resynchronise. A bus that
   * cannot lose messages (in-process) never calls it. Answers the function that removes it.
   */
  onResync?(handler: () => void | Promise<void>): () => void;
  close(): Promise<void>;
}
