import type { DecisionErrorCode } from '@argus/contracts/codes';

/** A Cedar entity uid with its fully qualified type, e.g. `{ type: "Argus::Agent", id: "planner" }`. */
export interface EntityUid {
  type: string;
  id: string;
}

/** A Cedar value in cedar-wasm's JSON form (`{__entity}` and `{__extn}` escapes included). */
export type CedarValue =
  | { __entity: EntityUid }
  | { __extn: { fn: string; arg: CedarValue } }
  | boolean
  | number
  | string
  | CedarValue[]
  | { [key: string]: CedarValue }
  | null;

/** One entity as Cedar receives it. */
export interface CedarEntity {
  uid: EntityUid;
  attrs: Record<string, CedarValue>;
  parents: EntityUid[];
  tags?: Record<string, CedarValue>;
}

/** One policy file: its path relative to the policy root, and its text. */
export interface PolicySource {
  file: string;
  text: string;
}

/** A template-linked policy: the template's id, the new policy's id and the slot values. */
export interface TemplateLinkInput {
  templateId: string;
  linkId: string;
  values: { '?principal'?: EntityUid; '?resource'?: EntityUid };
}

/** Everything a policy set is built from. */
export interface PolicySetInput {
  /** Cedar schema text (human-readable syntax). */
  schema: string;
  schemaFile?: string;
  policies: PolicySource[];
  links?: TemplateLinkInput[];
}

/** A located problem in a policy or schema file. Lines and columns are 1-based. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  /** Cedar's suggested fix, when it offers one. */
  help?: string;
  policyId?: string;
  /** The source line the diagnostic points at. */
  excerpt?: string;
}

/**
 * Enforcement effects a policy can carry with `@effect("...")`, beyond allow/deny:
 * - `require_approval` (permit): the permit alone only holds the request for a human's approval;
 * - `observe` (forbid): monitor mode — recorded as "would have denied", never denies;
 * - `quarantine` / `revoke` (forbid): deny and move the agent to that trust state;
 * - `escalate` (forbid): deny and notify.
 */
export type PolicyEffect = 'require_approval' | 'observe' | 'quarantine' | 'revoke' | 'escalate';

/** Which Cedar effect each enforcement effect may be attached to. */
export const EFFECT_APPLIES_TO: Readonly<Record<PolicyEffect, 'permit' | 'forbid'>> = {
  require_approval: 'permit',
  observe: 'forbid',
  quarantine: 'forbid',
  revoke: 'forbid',
  escalate: 'forbid',
};

/** What Argus knows about one policy (or template) of a set. */
export interface PolicyInfo {
  id: string;
  effect: 'permit' | 'forbid';
  /** The `@effect` annotation, validated at load. */
  enforcement?: PolicyEffect;
  file: string;
  line: number;
  annotations: Record<string, string>;
  text: string;
  template: boolean;
}

/** One decision request as Cedar sees it. `entities` should already be the slice the request reaches. */
export interface EvaluationRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, CedarValue>;
  entities: CedarEntity[];
}

/** An error met while evaluating: a policy that errored (Cedar skipped it), or a failed call. */
export interface EvaluationError {
  policyId?: string;
  /** Catalogued in `@argus/contracts` (`docs/codes.md`). */
  code: Extract<DecisionErrorCode, 'policy_error' | 'forbid_errored' | 'evaluation_failed' | 'engine_exception'>;
  message: string;
}

/**
 * The engine's answer. `deny` is also the answer to every internal failure (fail closed);
 * `determining` lists the policies that decided (satisfied forbids on a deny, satisfied permits on an allow).
 */
export interface EngineDecision {
  decision: 'allow' | 'deny';
  determining: PolicyInfo[];
  errors: EvaluationError[];
  /** How many policies the request was evaluated against (after partitioning). */
  evaluated: number;
  /** Observe-mode forbids that matched: they would have denied. Never part of the decision. */
  observed: PolicyInfo[];
  /** An allow whose every determining permit is `@effect("require_approval")`: hold it for a human. */
  needsApproval: boolean;
}
