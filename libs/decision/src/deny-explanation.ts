/**
 * Why a deny is a deny, in words: one line at every explain level, and at `explain=full` the
 * permits that came closest with what each still needed (the analysis `argus policy explain` shows).
 */
import { explainRequest, uidKey, type CompiledPolicySet, type EngineDecision, type EvaluationRequest } from '@argus/engine';

/** One permit that did not apply, and what it needed. */
export interface ClosestPermit {
  policy: string;
  /** Scope matched: only conditions kept it from applying. */
  scopeMatched: boolean;
  /** The scope parts and conditions it still needed (`when { resource.sensitivity == "internal" }`). */
  needed: string[];
  /** The conditions that failed or errored, with the values the request had. */
  failed: Array<{ kind: 'when' | 'unless'; text: string; outcome: string; values?: Record<string, unknown>; message?: string }>;
}

/** The one-line reason of a deny. */
export function denySummary(decision: EngineDecision, request: Pick<EvaluationRequest, 'principal' | 'action' | 'resource'>): string {
  const forbids = decision.determining.filter((p) => p.effect === 'forbid');
  if (forbids.length > 0) {
    return `denied by ${forbids.map((p) => `forbid \`${p.id}\`${p.annotations.reason ? ` (${p.annotations.reason})` : ''}`).join(', ')}`;
  }
  const failure = decision.errors.find((e) => e.code === 'evaluation_failed' || e.code === 'engine_exception');
  if (failure) return `denied: evaluation failed (${failure.message})`;
  const errored = decision.errors.filter((e) => e.policyId).map((e) => `\`${e.policyId}\``);
  const suffix = errored.length > 0 ? `; ${errored.join(', ')} errored and was skipped` : '';
  const who = `by ${uidKey(request.principal)} on ${uidKey(request.resource)}`;
  return `no permit matched \`${request.action.id}\` ${who} (default deny${suffix})`;
}

/** At `explain=full`, for a default deny: the closest permits (at most `limit`) and what each needed. */
export function explainDeny(set: CompiledPolicySet, request: EvaluationRequest, limit = 3): { closest: ClosestPermit[] } {
  const explanation = explainRequest(set, request, { validateRequest: false, maxPermits: 50 });
  const closest = explanation.permits
    .filter((p) => !p.satisfied)
    .slice(0, limit)
    .map((p) => ({
      policy: p.policy.id,
      scopeMatched: p.scopeMatched,
      needed: p.needed,
      failed: p.conditions
        .filter((c) => c.outcome === 'fails' || c.outcome === 'error')
        .map((c) => ({
          kind: c.kind,
          text: c.text,
          outcome: c.outcome,
          ...(c.values ? { values: c.values } : {}),
          ...(c.message ? { message: c.message } : {}),
        })),
    }));
  return { closest };
}
