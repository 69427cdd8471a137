/**
 * Wire types shared by the apps. They mirror the JSON Schemas in `schemas/`; the schemas are the
 * source of truth at runtime (validated with ajv), these types are what the code is checked against.
 * `schema-types.test.ts` compiles the request schemas to TypeScript and fails when a type here is
 * not identical to its schema.
 */
import type { DecisionErrorCode, DenyCode, ErrorCode } from './codes.ts';

/** A reference to an entity: `{ "type": "Agent", "id": "support-bot" }`. Types are written without the `Argus::` namespace. */
export interface EntityRef {
  type: string;
  id: string;
}

/** An entity reference with optional attributes supplied by the caller. */
export interface EntityInput extends EntityRef {
  attributes?: Record<string, unknown>;
}

/** Caller-supplied Cedar entity data (Verified Permissions / cedar-agent style). */
export interface EntityData {
  uid: EntityRef;
  attrs?: Record<string, unknown>;
  /** Cedar entity tags, read with `getTag` / `hasTag`. */
  tags?: Record<string, unknown>;
  parents?: EntityRef[];
}

/** The `input` document of a decision request. */
export interface AuthorizeInput {
  principal: EntityInput;
  /** Action name, e.g. `tool:call`, `llm:invoke`. */
  action: string;
  resource: EntityInput;
  intent?: string;
  goal?: string;
  /** The chain of authority, root (a Human) first, ending at the principal. */
  delegation?: EntityRef[];
  /** A signed delegation token carrying the chain (alternative to `delegation`). */
  delegationToken?: string;
  /** An approval id granted by a human for a held request. */
  approval?: string;
  context?: Record<string, unknown>;
  entities?: EntityData[];
}

/** How much explanation a decision carries. */
export type ExplainLevel = 'none' | 'reasons' | 'full';

/** `POST /v1/authorize` body. */
export interface AuthorizeRequest {
  input: AuthorizeInput;
  explain?: ExplainLevel;
}

/** The decision outcomes. `needs_approval` is held, not denied; `allow` is false for it. */
export type DecisionOutcome = 'allow' | 'deny' | 'needs_approval';

/** A policy that determined the decision. */
export interface DecisionReason {
  policy: string;
  effect: 'permit' | 'forbid';
  annotations: Record<string, string>;
}

/** A problem met while deciding (a policy that errored, a fact that could not be read). */
export interface DecisionError {
  policy?: string;
  code: DecisionErrorCode;
  message: string;
}

/** The `result` document of a decision. */
export interface AuthorizeResult {
  allow: boolean;
  decision: DecisionOutcome;
  reasons: DecisionReason[];
  errors: DecisionError[];
  /**
   * Stable reason codes for hard denies (`agent_revoked`, `delegation_expired`, ...), see `docs/codes.md`.
   * A call the proxy refused before any decision carries the error code of its answer (`unauthorized`, ...).
   */
  codes?: Array<DenyCode | ErrorCode>;
  /** One line saying why, for a deny or a hold (`no permit matched ...`, a hard deny's sentence). */
  summary?: string;
  /** What was checked and the outcome of each check (delegation, goal, intent, agent). */
  facts?: Record<string, unknown>;
  /** Enforcement obligations merged from the determining permits. */
  obligations?: Record<string, unknown>;
  /** Present on `needs_approval`: the approval request to wait for; on an allow granted through an approval, its id. */
  approval?: { id: string; expiresAt?: string; status?: 'pending' | 'approved' };
  /** Observe-mode forbids that matched: they would have denied (monitor mode, never enforced). */
  observed?: DecisionReason[];
  /**
   * Effects a determining forbid triggered (`quarantine`, `revoke`, `escalate`) and whether they ran;
   * `skipped` for an anonymous caller (`auth.decisions: open`), which also lists `budget`,
   * `require_approval` and `quota`.
   */
  effects?: Array<{ policy: string; effect: string; status: 'applied' | 'failed' | 'skipped' }>;
  /** `explain: "full"` only: the entity slice and context given to Cedar. */
  explanation?: { entities: unknown[]; context: Record<string, unknown>; request: Record<string, unknown>; closest?: unknown[] };
}

/** `POST /v1/authorize` answer. */
export interface AuthorizeResponse {
  decision_id: string;
  policy_version: string;
  result: AuthorizeResult;
}

/** `POST /v1/authorize/batch` body. */
export interface BatchAuthorizeRequest {
  inputs: AuthorizeInput[];
  entities?: EntityData[];
  explain?: ExplainLevel;
}

/** `POST /v1/authorize/batch` answer: one entry per input, in order. */
export interface BatchAuthorizeResponse {
  policy_version: string;
  results: AuthorizeResponse[];
}

/** Who asked for a decision, for the audit trail. */
export interface DecisionCaller {
  /** `apdp`, `apdp-batch`, `opa`, `proxy`, `cli`. */
  kind: string;
  /** The authenticated identity of the caller, if any (service name, agent id). */
  subject?: string;
}

/** What a proxied call adds to its decision record. */
export interface ProxyOutcome {
  upstream: string;
  status?: number;
  credentialName?: string;
  /** `estimated`: some figures are Argus's estimate (a stream cut before the provider reported them). */
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number; costUsd?: number; estimated?: boolean };
  error?: string;
}

/**
 * The audit trail's view of one decision, before masking and chaining. Value-free by default:
 * context values and request bodies are not carried unless opted in.
 */
export interface DecisionEvent {
  decisionId: string;
  time: string;
  caller: DecisionCaller;
  input: AuthorizeInput;
  result: AuthorizeResult;
  policyVersion: string;
  latencyMs: number;
  proxy?: ProxyOutcome;
  /** Links a decision to an earlier one (approval retry, shadow evaluation). */
  relatedDecisionId?: string;
  /** The candidate policy set (shadow mode) would have decided otherwise. */
  shadow?: { candidateVersion: string; from: string; to: string; candidatePolicies: string[] };
}

/** Options of one decision made through a `DecisionPoint`. */
export interface DecideOptions {
  caller: DecisionCaller;
  explain?: ExplainLevel;
  /**
   * When false the decision point does not write the audit record itself: the caller (the proxy)
   * writes it once the upstream has answered, with the proxy outcome attached.
   */
  audit?: boolean;
  /**
   * A what-if: the decision is made exactly as it would be, but none of its side effects happens
   * (reported as `skipped`) and no audit record is written. For explaining a recorded decision.
   */
  whatIf?: boolean;
}

/** Anything that can decide: the in-process core or a remote apdp over HTTP. Never throws for a deny. */
export interface DecisionPoint {
  decide(input: AuthorizeInput, options: DecideOptions): Promise<AuthorizeResponse>;
}

/** Where decision events go: the audit trail. In strict mode `record` resolves once the record is durable. */
export interface DecisionRecorder {
  record(event: DecisionEvent, options?: RecordOptions): Promise<void>;
}

/** How a record is handed to the trail. */
export interface RecordOptions {
  /**
   * The caller has already answered and does not wait for this record (the proxy records a call
   * once it ended): the trail may gather it longer before writing, into fewer, larger commits.
   * Durability is unchanged: `flush` and `close` still write it.
   */
  answered?: boolean;
}

/** Usage of a goal's budget reported after the fact (tokens, cost) by the proxy or a caller. */
export interface UsageReport {
  goal: string;
  agent: string;
  actions?: number;
  tokens?: number;
  costUsd?: number;
  decisionId?: string;
}

/** Where usage goes: the goal budget counters. */
export interface UsageSink {
  reportUsage(report: UsageReport): Promise<void>;
}
