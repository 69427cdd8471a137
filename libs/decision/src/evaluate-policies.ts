/**
 * Step 5 — evaluate: Cedar (memoised or compiled when configured) on the live set, the shadow
 * candidate beside it, and the answer in words (reasons, facts, explanation, obligations).
 */
import type { AuthorizeResult, DecisionReason, ExplainLevel } from '@argus/contracts';
import {
  evaluate,
  mergeObligations,
  summarize,
  type CompiledEvaluation,
  type CompiledPolicySet,
  type DecisionMemo,
  type EngineDecision,
} from '@argus/engine';
import { withNow } from './candidate.ts';
import { contextOf, entitiesFor, type CedarRequest } from './cedar-request.ts';
import { denySummary, explainDeny } from './deny-explanation.ts';
import type { ShadowFlip, ShadowPort } from './ports.ts';

/** How Cedar is called. */
export interface EvaluationOptions {
  validateRequest: boolean;
  memo?: DecisionMemo;
  compiled?: CompiledEvaluation | false;
  shadow?: ShadowPort;
}

/** Cedar's decision, and the shadow candidate's when it differs. */
export interface Evaluated {
  decision: EngineDecision;
  flip?: ShadowFlip;
}

/** Evaluates the live set, then the shadow candidate on its own slice (and `now` if it reads it): pruning depends on the policies. */
export function evaluatePolicies(set: CompiledPolicySet, cedar: CedarRequest, options: EvaluationOptions): Evaluated {
  const decision = evaluate(set, cedar.request, {
    validateRequest: options.validateRequest,
    ...(options.memo ? { memo: options.memo } : {}),
    ...(options.compiled !== undefined ? { compiled: options.compiled } : {}),
  });
  const candidate = options.shadow?.candidate;
  if (!candidate) return { decision };
  const { principal, resource } = cedar.request;
  const context = withNow(candidate, cedar.context, cedar.now);
  const flip = options.shadow!.evaluate(
    {
      ...cedar.request,
      context: contextOf(candidate, { context, prune: cedar.prune }),
      entities: entitiesFor(candidate, cedar, [principal, resource]),
    },
    summarize(decision),
  );
  return flip ? { decision, flip } : { decision };
}

/**
 * The answer as the caller reads it: determining policies, errors, observed (`@enforcement("observe")`)
 * policies, facts and, at `explain=full`, the request and why a default deny is one; an allow's
 * obligations. Approval holds are added by `planEffects`.
 */
export function describeDecision(
  decision: EngineDecision,
  set: CompiledPolicySet,
  cedar: CedarRequest,
  facts: Record<string, unknown>,
  explain: ExplainLevel,
): AuthorizeResult {
  const { principal, action, resource } = cedar.request;
  const reasons: DecisionReason[] = decision.determining.map((p) => ({
    policy: p.id,
    effect: p.effect,
    annotations: explain === 'none' ? {} : p.annotations,
  }));
  const result: AuthorizeResult = {
    allow: decision.decision === 'allow',
    decision: decision.decision,
    reasons,
    errors: decision.errors.map((e) => ({ ...(e.policyId ? { policy: e.policyId } : {}), code: e.code, message: e.message })),
  };
  if (decision.observed.length > 0)
    result.observed = decision.observed.map((p) => ({ policy: p.id, effect: p.effect, annotations: p.annotations }));
  if (explain !== 'none') result.facts = { ...facts, policies: { evaluated: decision.evaluated, total: set.policies.size } };
  if (explain === 'full')
    result.explanation = { entities: cedar.request.entities, context: cedar.context, request: { principal, action, resource } };
  if (decision.decision === 'deny') {
    result.summary = denySummary(decision, cedar.request);
    if (explain === 'full' && decision.determining.length === 0) Object.assign(result.explanation!, explainDeny(set, cedar.request));
  }
  if (result.allow) {
    const obligations = mergeObligations(decision.determining);
    if (Object.keys(obligations).length > 0) result.obligations = obligations;
  }
  return result;
}
