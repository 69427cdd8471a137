/**
 * Steps 6 and 7 — plan the side effects a decision needs (goal budget, approval, acting forbids,
 * quota count), then commit them in one place once the final answer is known.
 * INVARIANT: nothing is written before `commitEffects`; a timed-out plan, an anonymous caller and a
 * what-if commit nothing.
 */
import type { AuthorizeInput, AuthorizeResult, DecideOptions, DecisionCaller } from '@argus/contracts';
import { contextKeysRead, type CedarValue, type EngineDecision, type EntityUid } from '@argus/engine';
import type { Logger } from 'pino';
import type { Governed } from './apply-governance.ts';
import type { CedarRequest } from './cedar-request.ts';
import type { CheckedRequest } from './check-request.ts';
import { deny, failClosed, type Refusal } from './outcome.ts';

/** What the approval hook found; `commit` writes it (consume the approval, or open the request). */
export type ApprovalPlan =
  | { status: 'approved'; id: string; relatedDecisionId?: string; commit: () => Promise<void> }
  | { status: 'pending'; id: string; expiresAt: string; commit?: () => Promise<void> };

/** One request as the effects hooks see it. */
export interface EffectRequest {
  decisionId: string;
  /** Set by an effect to link this decision to an earlier one in the audit trail (an approval retry). */
  related?: { id?: string };
  input: AuthorizeInput;
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, CedarValue>;
  now: Date;
  /** Who asked for the decision (an approval request it opens records it: the requester may never answer it). */
  caller?: DecisionCaller;
  /**
   * For an approval-gated request: the context keys the gating policies read (`all` when one reads
   * the context as a whole). The approval is bound to these (and the governance keys), not to
   * context the policies never look at. Absent: the whole context.
   */
  approvalContextKeys?: string[] | 'all';
}

/** An acting forbid of a deny: `@enforcement("quarantine" | "revoke" | "escalate")`. */
export interface ActingForbid {
  policy: string;
  effect: 'quarantine' | 'revoke' | 'escalate';
}

/**
 * Hooks for the decisions that do more than allow or deny (approvals, acting forbids, quotas),
 * injected by the composition root. Every hook failure fails closed.
 */
export interface DecisionEffects {
  /**
   * An allow held by `@effect("require_approval")`, read only: a matching approval given in
   * `input.approval` (→ approved; `commit` consumes it) or the request a human must answer
   * (→ pending; `commit` opens it when it is new). A refused approval throws `ApprovalRefusedError`.
   * Nothing is written until the decision service calls `commit` (and never after a timeout).
   */
  approval?(request: EffectRequest, policies: string[]): Promise<ApprovalPlan>;
  /** A deny determined by forbids carrying `quarantine`, `revoke` or `escalate`: carry them out. */
  act?(
    request: EffectRequest,
    effects: ActingForbid[],
    result: AuthorizeResult,
  ): Promise<Array<{ policy: string; effect: string; status: 'applied' | 'failed' }>>;
  /**
   * Counters over past decisions for `context.usage` (read only); undefined when they cannot be
   * read (rules depending on them then fail closed). `context` is what governance resolved (the
   * delegation root names the end user).
   */
  usage?(
    request: Omit<EffectRequest, 'context' | 'decisionId'> & { context?: Record<string, CedarValue> },
  ): Promise<Record<string, CedarValue> | undefined>;
  /**
   * Called once the final answer is known, first of the commit steps, to count it (quotas). An
   * answer turns the allow into a hard deny with those codes (a quota at its limit), before any
   * budget or approval is spent.
   */
  counted?(request: EffectRequest, result: AuthorizeResult): Promise<Refusal | undefined>;
  /**
   * The read-only side of a limited quota: given `context.usage`, the refusal when a quota that
   * applies is already at its limit. Checked in the plan, so a what-if, an anonymous caller and
   * an approval-gated request see it too; `counted` stays the authority under concurrency.
   */
  exhausted?(usage: Record<string, CedarValue>): Refusal | undefined;
  /**
   * Whether `exhausted` can refuse (some quota has a limit): then `usage` is read for every
   * decision, whatever the policies read. Absent: taken as true.
   */
  readonly limitsUsage?: boolean;
}

/** Side effects a decision found it needs, committed only once the final answer is known. */
export interface Planned {
  result: AuthorizeResult;
  request?: EffectRequest;
  /** Facts of the decision, for the hard deny a commit may turn it into. */
  facts?: Record<string, unknown>;
  /** The goal's budget (allow only). */
  budget?: () => Promise<Refusal | undefined>;
  /** Consume the approval (approved allow) or open the request (hold). */
  approval?: () => Promise<void>;
  /** Acting forbids of a deny. */
  acting?: ActingForbid[];
  /** The decision timeout answered first: nothing is committed. */
  timedOut?: true;
}

/** Who the plan is for and what it decided on: the request, its Cedar form and the decision's id. */
export interface PlanInput {
  checked: CheckedRequest;
  governed: Governed;
  cedar: CedarRequest;
  decisionId: string;
  /** Shared with the record: an approval retry links its decision here. */
  related: { id?: string };
  /** Who asked (`DecideOptions.caller`). */
  caller?: DecisionCaller;
}

/**
 * Reads what the answer needs written: the goal's budget (an allow), the approval to consume or the
 * request to open (an approval-gated allow, which a missing approval turns into a hold), the acting
 * forbids (a deny). Writes nothing.
 */
export async function planEffects(
  result: AuthorizeResult,
  decision: EngineDecision,
  from: PlanInput,
  effects: DecisionEffects | undefined,
): Promise<Planned> {
  const { checked, cedar } = from;
  const request: EffectRequest = {
    decisionId: from.decisionId,
    input: checked.input,
    principal: checked.principal,
    action: checked.action,
    resource: checked.resource,
    context: cedar.context,
    now: cedar.now,
    related: from.related,
    ...(from.caller ? { caller: from.caller } : {}),
  };
  const planned: Planned = { result, request, facts: from.governed.facts };
  if (result.allow && from.governed.commit) planned.budget = from.governed.commit;
  if (decision.needsApproval) {
    const gating = decision.determining.filter((p) => p.enforcement === 'require_approval').map((p) => p.id);
    request.approvalContextKeys = contextKeysRead(checked.set, gating);
    const commit = await planApproval(result, request, gating, effects);
    if (commit) planned.approval = commit;
    // A hold spends nothing: the budget is consumed by the approved retry.
    if (!result.allow) delete planned.budget;
  }
  const acting = actingForbids(decision);
  if (acting.length > 0) planned.acting = acting;
  return planned;
}

/**
 * Turns an approval-gated allow into `needs_approval`, unless a matching approval was given.
 * Answers what to commit: consuming the approval, or opening the request.
 */
async function planApproval(
  result: AuthorizeResult,
  request: EffectRequest,
  policies: string[],
  effects: DecisionEffects | undefined,
): Promise<(() => Promise<void>) | undefined> {
  const hold = (): void => {
    result.allow = false;
    result.decision = 'needs_approval';
    delete result.obligations;
  };
  if (!effects?.approval) {
    hold();
    result.decision = 'deny';
    result.codes = [...(result.codes ?? []), 'approval_unavailable'];
    result.summary = 'hard deny: approval_unavailable — an approval-gated permit matched and no approval store is configured';
    return undefined;
  }
  const answer = await effects.approval(request, policies);
  if (answer.status === 'approved') {
    result.approval = { id: answer.id, status: 'approved' };
    if (answer.relatedDecisionId && request.related) request.related.id = answer.relatedDecisionId;
    return answer.commit;
  }
  hold();
  result.approval = { id: answer.id, expiresAt: answer.expiresAt, status: 'pending' };
  result.summary = `held for approval \`${answer.id}\` by ${policies.map((p) => `\`${p}\``).join(', ')}`;
  return answer.commit;
}

function actingForbids(decision: EngineDecision): ActingForbid[] {
  if (decision.decision !== 'deny') return [];
  return decision.determining
    .filter((p) => p.enforcement === 'quarantine' || p.enforcement === 'revoke' || p.enforcement === 'escalate')
    .map((p) => ({ policy: p.id, effect: p.enforcement as ActingForbid['effect'] }));
}

/**
 * The one place side effects happen. A timed-out plan commits nothing; an anonymous caller
 * (`auth.decisions: open`) and a what-if get the same decision with every effect reported as
 * skipped; anyone else gets them committed: quota count, budget, approval, acting forbids.
 */
export async function commitEffects(
  planned: Planned,
  options: DecideOptions,
  effects: DecisionEffects | undefined,
  logger: Logger,
): Promise<AuthorizeResult> {
  if (planned.timedOut) return planned.result;
  if (options.caller.kind === 'anonymous' || options.whatIf) return skipSideEffects(planned, Boolean(effects?.counted));
  return commit(planned, effects, logger);
}

/** Quotas first: a quota at its limit denies before any budget or approval is spent. */
async function commit(planned: Planned, effects: DecisionEffects | undefined, logger: Logger): Promise<AuthorizeResult> {
  const { result, request } = planned;
  if (!request) return result;
  try {
    const quota = effects?.counted ? await effects.counted(request, result) : undefined;
    if (quota) return deny([], quota.codes, planned.facts, quota.message);
    if (result.allow && planned.budget) {
      const refused = await planned.budget();
      if (refused) return deny([], refused.codes, planned.facts, refused.message);
    }
    if (planned.approval) await planned.approval();
    if (planned.acting) {
      result.effects = effects?.act
        ? await effects.act(request, planned.acting, result)
        : planned.acting.map((w) => ({ ...w, status: 'failed' as const }));
    }
    return result;
  } catch (err) {
    return failClosed(err, logger);
  }
}

/**
 * The answer to an anonymous caller: the planned decision with every side effect it would have
 * caused (budget, approval hold or consumption, quarantine/revoke/escalate, quota count) reported
 * as `skipped` and none carried out. A given approval is not consumed, so the request stays held.
 */
export function skipSideEffects(planned: Planned, counted: boolean): AuthorizeResult {
  const { result } = planned;
  const skipped: NonNullable<AuthorizeResult['effects']> = [];
  const policy = result.reasons[0]?.policy ?? '';
  if (planned.budget && result.allow) skipped.push({ policy, effect: 'budget', status: 'skipped' });
  if (planned.approval) {
    skipped.push({ policy, effect: 'require_approval', status: 'skipped' });
    if (result.allow) {
      result.allow = false;
      result.decision = 'needs_approval';
      delete result.obligations;
    }
    // No request was opened: the summary must not name one a human could answer.
    if (result.approval?.status === 'pending') result.summary = 'held for approval: no request is opened for an anonymous caller';
    delete result.approval;
  }
  for (const a of planned.acting ?? []) skipped.push({ policy: a.policy, effect: a.effect, status: 'skipped' });
  if (counted && planned.request) skipped.push({ policy, effect: 'quota', status: 'skipped' });
  if (skipped.length > 0) result.effects = skipped;
  return result;
}
