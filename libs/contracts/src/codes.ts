/**
 * The catalogue of every stable code Argus puts on the wire, with its meaning: the single source
 * of the `DenyCode`, `ErrorCode` and `DecisionErrorCode` types and of `docs/codes.md`.
 *
 * - A **deny code** says why a decision is not an allow: `result.codes` of a decision, the
 *   `codes` of a refusal the proxy answers, the `reason` of a refused request.
 * - An **error code** is the `code` of an error response `{code, message, errors}`; each has its
 *   HTTP status.
 * - A **decision error code** is the `code` of an entry in a decision's `errors` (a policy that
 *   could not be evaluated, a decision point that could not be reached) or of a warning.
 *
 * Codes are compared by catalogue lookup (`isDenyCode`, `DENY_CODES[code].group`), never by
 * string prefix. Adding a code here is the only way to emit it: the emitting code is typed with
 * these unions, and `codes-catalogue.test.ts` scans the sources for literals that escape them.
 * This module has no dependencies, so the pure core can import it.
 */

/** The family a deny code belongs to: who emits it and what it is about. */
export type DenyGroup =
  'registry' | 'delegation' | 'intent' | 'goal' | 'approval' | 'quota' | 'switch' | 'policy' | 'request' | 'decision' | 'proxy' | 'mcp';

/** What the catalogue says of one deny code. */
export interface DenyCodeInfo {
  readonly group: DenyGroup;
  readonly meaning: string;
}

/** What the catalogue says of one error code: its HTTP status and meaning. */
export interface ErrorCodeInfo {
  readonly status: number;
  readonly meaning: string;
}

/** Every deny code, with its family and its meaning. */
export const DENY_CODES = {
  // The agent as the registry knows it (checked before any policy).
  agent_unknown: { group: 'registry', meaning: 'the principal is not a registered agent and `registry.requireRegistered` is on' },
  agent_revoked: {
    group: 'registry',
    meaning:
      'the agent, or an agent of its delegation chain, is revoked: no policy can permit it, or anything acting on its authority, again',
  },
  agent_quarantined: {
    group: 'registry',
    meaning: 'the agent, or an agent of its delegation chain, is quarantined until a human restores its trust',
  },
  lease_unknown: { group: 'registry', meaning: "the agent's lease could not be read, so its liveness is unknown" },
  // The delegation chain (`input.delegation` or a delegation token).
  delegation_unknown_hop: { group: 'delegation', meaning: 'a hop of the chain has no delegation grant' },
  delegation_expired: { group: 'delegation', meaning: 'a grant of the chain has expired' },
  delegation_revoked: { group: 'delegation', meaning: 'a grant of the chain was revoked' },
  delegation_scope_widened: { group: 'delegation', meaning: 'a grant gives more than its parent grant holds' },
  delegation_out_of_scope: { group: 'delegation', meaning: 'the action or resource is outside the scope the chain delegates' },
  delegation_depth_exceeded: { group: 'delegation', meaning: 'the chain is longer than a grant (or the token limit) allows' },
  delegation_outlives_parent: { group: 'delegation', meaning: 'a grant expires after the grant it derives from' },
  delegation_cycle: { group: 'delegation', meaning: 'an entity appears twice in the chain' },
  delegation_wrong_principal: { group: 'delegation', meaning: 'the chain does not end at the principal of the decision' },
  delegation_root_not_human: { group: 'delegation', meaning: 'the chain does not start at a Human' },
  delegation_token_invalid: {
    group: 'delegation',
    meaning: 'the delegation token does not verify, is not accepted here, or contradicts `delegation`',
  },
  delegation_token_expired: { group: 'delegation', meaning: 'the delegation token has expired' },
  // The declared intent against the intent catalogue.
  intent_unknown: { group: 'intent', meaning: 'the intent is not in the intent catalogue' },
  intent_action_mismatch: { group: 'intent', meaning: 'the intent does not justify the action' },
  intent_resource_mismatch: { group: 'intent', meaning: 'the intent does not justify the resource' },
  intent_missing: { group: 'intent', meaning: 'no intent was declared and every decision requires one' },
  // The goal the decision serves.
  goal_unknown: { group: 'goal', meaning: 'the goal does not exist' },
  goal_inactive: { group: 'goal', meaning: 'the goal is not active (paused, completed or cancelled)' },
  goal_expired: { group: 'goal', meaning: 'the goal has expired' },
  goal_agent_not_assigned: { group: 'goal', meaning: 'the principal (and its chain) is not assigned to the goal' },
  goal_intent_not_allowed: { group: 'goal', meaning: "the intent is not among the goal's allowed intents" },
  goal_budget_exhausted: { group: 'goal', meaning: "the goal's budget (actions, tokens or cost) is spent" },
  goal_budget_unknown: { group: 'goal', meaning: "the goal's budget could not be read" },
  governance_unavailable: { group: 'goal', meaning: 'the decision names a delegation or a goal and no governance checks are configured' },
  // Human approval of a `require_approval` permit.
  approval_unknown: { group: 'approval', meaning: 'the named approval does not exist' },
  approval_mismatch: { group: 'approval', meaning: 'the approval was granted for another principal, action, resource or context' },
  approval_consumed: { group: 'approval', meaning: 'the approval was already used' },
  approval_rejected: { group: 'approval', meaning: 'the approval was rejected' },
  approval_expired: { group: 'approval', meaning: 'the approval expired before it was used' },
  approval_unavailable: { group: 'approval', meaning: 'an approval-gated permit matched and no approval store is configured' },
  // Quotas and kill switches (`context.usage`, `switches`).
  quota_exceeded: {
    group: 'quota',
    meaning:
      'a quota the call counts against is used up for its window (an unreadable counter makes the rules reading `context.usage` deny instead)',
  },
  switch_stopped: {
    group: 'switch',
    meaning: 'a kill switch covering the agent, tool, server or everything is stopped (checked before anything is read)',
  },
  switches_unavailable: {
    group: 'switch',
    meaning: 'the switches could not be read for longer than `maxStaleMs`: every decision fails closed, so an outage never lifts a stop',
  },
  // The policies' answer, as the proxy names a deny that carries no hard-deny code.
  policy_forbid: { group: 'policy', meaning: 'a forbid policy matched' },
  policy_error: { group: 'policy', meaning: 'a policy could not be evaluated (fail closed)' },
  no_permit: { group: 'policy', meaning: 'no policy permits the call' },
  needs_approval: { group: 'policy', meaning: 'the call is held until a human approves it' },
  no_policy_set: { group: 'policy', meaning: 'no policy set is loaded' },
  // A decision request refused before it was decided (answered 400, still recorded).
  invalid_request: { group: 'request', meaning: 'the decision request does not match its schema' },
  invalid_id: { group: 'request', meaning: 'an id of the request is empty, blank, too long or holds control characters' },
  invalid_string: { group: 'request', meaning: 'a string of the request is not well-formed UTF-16 (a lone surrogate)' },
  unknown_action: { group: 'request', meaning: 'the action is not an action of the Cedar schema' },
  unknown_entity_type: { group: 'request', meaning: 'an entity type is not a type of the Cedar schema' },
  invalid_value: {
    group: 'request',
    meaning: 'an attribute, tag or context value is not a Cedar value, or not of the type the Cedar schema declares for it',
  },
  reserved_context_key: {
    group: 'request',
    meaning: 'the context sets a key Argus fills itself (`intent`, `goal`, `delegation`, `usage`, `now`)',
  },
  // The decision point failing closed.
  decision_timeout: { group: 'decision', meaning: 'the decision did not finish within its timeout; none of its side effects happened' },
  facts_unavailable: { group: 'decision', meaning: 'a store the decision needs could not be reached' },
  internal_error: { group: 'decision', meaning: 'an unexpected fault while deciding (fail closed)' },
  // Refusals the proxy makes itself.
  unauthenticated: { group: 'proxy', meaning: 'the call carries no valid agent credential (answered 401)' },
  obligation_unenforceable: { group: 'proxy', meaning: "the proxy cannot apply the permit's obligations to the call or its answer" },
  mcp_malformed: { group: 'mcp', meaning: 'the MCP request body is not JSON-RPC' },
  mcp_message_malformed: { group: 'mcp', meaning: 'a JSON-RPC message has no `method`, nor a `result` or `error` with an `id`' },
  mcp_method_not_allowed: { group: 'mcp', meaning: 'the MCP method (or HTTP method) is not allowed through the proxy' },
  mcp_invalid_params: { group: 'mcp', meaning: 'the params of an MCP request do not name what it acts on' },
  mcp_path_not_allowed: { group: 'mcp', meaning: 'the MCP upstream answers only at its endpoint' },
  mcp_session_foreign: { group: 'mcp', meaning: 'the MCP session belongs to another agent' },
  mcp_session_not_decided: { group: 'mcp', meaning: 'no MCP session was opened by this agent through a decided `initialize`' },
  mcp_tool_unregistered: { group: 'mcp', meaning: 'a listed MCP tool the registry does not know: filtered out of the list' },
  mcp_tool_changed: {
    group: 'mcp',
    meaning:
      "the MCP tool's description or input schema changed since it was approved (a rug pull): filtered out of lists, its calls refused until re-approved",
  },
} as const satisfies Record<string, DenyCodeInfo>;

/** A stable code saying why a decision is not an allow. */
export type DenyCode = keyof typeof DENY_CODES;

/** Every error code of the wire error shape `{code, message, errors}`, with its HTTP status. */
export const ERROR_CODES = {
  invalid_json: { status: 400, meaning: 'the body is not valid JSON' },
  invalid_parameter: { status: 400, meaning: 'a body, query or header does not satisfy its schema; `errors` names each bad path' },
  body_too_large: { status: 413, meaning: 'the body is larger than the configured limit' },
  unsupported_media_type: { status: 415, meaning: 'the body is not `application/json`' },
  unauthorized: { status: 401, meaning: 'the credential is missing or invalid' },
  forbidden: { status: 403, meaning: 'the caller may not do this (or, from the proxy, the call was denied)' },
  not_found: { status: 404, meaning: 'the named thing (or route) does not exist' },
  conflict: { status: 409, meaning: 'the write conflicts with the current state (duplicate, stale version, illegal transition)' },
  method_not_allowed: { status: 405, meaning: 'the route does not answer this HTTP method' },
  invalid_policy: { status: 422, meaning: 'a policy set does not compile or validate; `errors` names each problem' },
  invalid_config: { status: 400, meaning: 'a configuration file or environment value is invalid' },
  precondition_failed: { status: 412, meaning: '`If-Match` does not match the current version' },
  too_many_requests: { status: 429, meaning: 'a rate limit is reached' },
  timeout: { status: 504, meaning: 'an upstream or dependency did not answer in time' },
  unavailable: { status: 503, meaning: 'a dependency (Redis, a database, the decision point) cannot be reached' },
  upstream_error: { status: 502, meaning: 'the upstream failed or its answer cannot be used' },
  internal_error: { status: 500, meaning: 'an unexpected fault; nothing more is said' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A stable snake_case code of an error response. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes of a decision's `errors[]` entries (and warnings) that are neither deny nor error codes. */
export const DECISION_ERROR_CODES = {
  forbid_errored: { meaning: 'a forbid policy errored; the decision fails closed to a deny' },
  evaluation_failed: { meaning: 'the policy set could not be evaluated' },
  engine_exception: { meaning: 'the Cedar engine threw' },
  cedar_error: { meaning: 'Cedar reported an error for the request' },
  decision_unavailable: { meaning: 'the proxy could not reach the decision point; the call is denied' },
  api_usage_warning: { meaning: '`POST /v1/data` without an `input` key (an OPA warning)' },
} as const satisfies Record<string, { readonly meaning: string }>;

/**
 * The code of an entry in a decision's `errors`: a decision error code, the deny code the
 * decision ended with (`decision_timeout`, `approval_consumed`, ...) or the error code of the fault.
 */
export type DecisionErrorCode = keyof typeof DECISION_ERROR_CODES | DenyCode | ErrorCode;

/** The deny codes of one family, as a set. */
function groupOf(group: DenyGroup): ReadonlySet<DenyCode> {
  return new Set((Object.keys(DENY_CODES) as DenyCode[]).filter((code) => DENY_CODES[code].group === group));
}

/** The deny codes of a retry naming an approval that cannot grant it (`approval_unavailable` excluded). */
export type ApprovalRefusalCode = 'approval_unknown' | 'approval_mismatch' | 'approval_consumed' | 'approval_rejected' | 'approval_expired';

const APPROVAL_REFUSALS: ReadonlySet<string> = new Set<ApprovalRefusalCode>([
  'approval_unknown',
  'approval_mismatch',
  'approval_consumed',
  'approval_rejected',
  'approval_expired',
]);

/** True when `code` is in the deny catalogue. */
export function isDenyCode(code: unknown): code is DenyCode {
  return typeof code === 'string' && Object.hasOwn(DENY_CODES, code);
}

/** True when `code` is in the error catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** True when `code` is a refusal of a named approval (unknown, mismatched, used, rejected, expired). */
export function isApprovalRefusalCode(code: unknown): code is ApprovalRefusalCode {
  return typeof code === 'string' && APPROVAL_REFUSALS.has(code);
}

/** The deny codes of `group`, in catalogue order. */
export function denyCodesOf(group: DenyGroup): DenyCode[] {
  return [...groupOf(group)];
}

/** The HTTP status of an error code. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
