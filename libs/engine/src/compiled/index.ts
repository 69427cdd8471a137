/**
 * Compiled evaluation: each policy of the active set compiled from its JSON form into a
 * JavaScript closure with Cedar's semantics (see `compile.ts`), proven equal to cedar-wasm by
 * differential random testing (`testing/`), and checked online on a sample of live decisions.
 * cedar-wasm stays the parser, the validator and the oracle, and answers every request the
 * compiled evaluator cannot answer exactly.
 */
import { createHash } from 'node:crypto';
import { cedar } from '../cedar-wasm.ts';
import { compiledPolicies, type CedarLikeAnswer, type CedarRequest, type PolicyTexts } from './authorize.ts';
import type { EntityUid } from '../types.ts';

export { CompiledPolicies, compiledPolicies, type CedarLikeAnswer, type CedarRequest, type PolicyTexts } from './authorize.ts';

/** A compiled decision that cedar-wasm, re-evaluating it, answered differently. */
export interface CompiledMismatch {
  /** sha256 of the request as evaluated (principal, action, resource, context, entities). */
  inputHash: string;
  policyIds: string[];
  compiled: DecisionSummary;
  /** cedar-wasm's answer, or its failure messages. */
  cedar: DecisionSummary | { failure: string[] };
  /** Whether the set was switched back to cedar-wasm for the rest of its life. */
  disabled: boolean;
}

/** What the comparison looks at: decision, determining and erroring policy ids (sorted). */
export interface DecisionSummary {
  decision: 'allow' | 'deny';
  reason: string[];
  errors: string[];
}

/** How the compiled evaluator is used. */
export interface CompiledEvaluation {
  /**
   * Fraction (0..1) of compiled decisions re-evaluated with cedar-wasm after the answer is given
   * (on `setImmediate`, off the request's path). Default 0.
   */
  verifySample?: number;
  /** Called with every mismatch online verification finds (log it, count it). */
  onMismatch?: (mismatch: CompiledMismatch) => void;
  /** After a mismatch, evaluate that policy set with cedar-wasm only. Default true. */
  fallbackOnMismatch?: boolean;
  /** Random source for sampling, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Counters of online verification, for metrics. */
export const verificationStats = { sampled: 0, verified: 0, mismatches: 0 };

/**
 * The compiled answer for the policies in `buckets`, or `undefined` when cedar-wasm must answer
 * (a policy or an input the compiler does not support, or the set switched back after a mismatch).
 * `entities` must include what cedar-wasm would be given (action group entities too).
 */
export function evaluateCompiled(
  set: PolicyTexts,
  buckets: ReadonlyArray<readonly string[]>,
  request: CedarRequest,
  options: CompiledEvaluation = {},
): CedarLikeAnswer | undefined {
  const compiled = compiledPolicies(set);
  const ids = buckets.length === 1 ? buckets[0]! : buckets.flat();
  const answer = compiled.authorize(ids, request);
  if (answer === undefined) return undefined;
  const sample = options.verifySample ?? 0;
  if (sample > 0 && (options.random ?? Math.random)() < sample) {
    verificationStats.sampled++;
    // The request is copied now: the caller may reuse its objects once the answer is returned.
    const input = JSON.stringify(request);
    const ours = summarize(answer);
    setImmediate(() => verify(set, [...ids], input, ours, options));
  }
  return answer;
}

function summarize(a: CedarLikeAnswer): DecisionSummary {
  return {
    decision: a.response.decision,
    reason: [...a.response.diagnostics.reason].sort(),
    errors: a.response.diagnostics.errors.map((e) => e.policyId).sort(),
  };
}

function verify(set: PolicyTexts, ids: string[], input: string, ours: DecisionSummary, options: CompiledEvaluation): void {
  const request = JSON.parse(input) as CedarRequest;
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  const templateLinks: Array<{ templateId: string; newId: string; values: Record<string, EntityUid> }> = [];
  const links = new Map(set.links.map((l) => [l.linkId, l]));
  for (const id of ids) {
    const text = set.staticTexts.get(id);
    if (text !== undefined) staticPolicies[id] = text;
    const link = links.get(id);
    if (link) {
      templates[link.templateId] = set.templateTexts.get(link.templateId)!;
      templateLinks.push({ templateId: link.templateId, newId: link.linkId, values: link.values as Record<string, EntityUid> });
    }
  }
  let theirs: CompiledMismatch['cedar'];
  try {
    const r = cedar.isAuthorized({
      ...request,
      entities: request.entities,
      policies: { staticPolicies, templates, templateLinks },
    } as never);
    theirs = r.type === 'success' ? summarize(r as CedarLikeAnswer) : { failure: r.errors.map((e) => e.message) };
  } catch (e) {
    theirs = { failure: [e instanceof Error ? e.message : 'cedar-wasm threw'] };
  }
  verificationStats.verified++;
  if (JSON.stringify(theirs) === JSON.stringify(ours)) return;
  verificationStats.mismatches++;
  const disabled = options.fallbackOnMismatch ?? true;
  if (disabled) compiledPolicies(set).disabled = true;
  options.onMismatch?.({
    inputHash: createHash('sha256').update(input).digest('hex'),
    policyIds: ids,
    compiled: ours,
    cedar: theirs,
    disabled,
  });
}
