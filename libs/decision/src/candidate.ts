/**
 * A policy set evaluated on a request it was not the live set for: the shadow candidate beside the
 * live set, and the console's playground. Both compile the candidate the way a publish does (its
 * refusal located file:line:column) and give it `now` when it reads the time and the request does
 * not carry it, so a candidate is judged on the same terms as the set it would replace.
 */
import {
  evaluate,
  type CedarValue,
  type CompiledPolicySet,
  type Diagnostic,
  type EngineDecision,
  type EvaluationRequest,
} from '@argus/engine';
import { ArgusError, type ErrorDetail } from '@argus/platform';
import { nowValue } from './cedar-request.ts';

/** A refused set's diagnostics as error details: `path` is `file:line:column`, the help appended. */
export function diagnosticErrors(diagnostics: readonly Diagnostic[]): ErrorDetail[] {
  return diagnostics.map((d) => ({ path: `${d.file}:${d.line}:${d.column}`, message: d.message + (d.help ? ` (help: ${d.help})` : '') }));
}

/** The `invalid_policy` error (422) of a set that does not compile, carrying its diagnostics. */
export function invalidPolicySet(diagnostics: Diagnostic[], message: string): ArgusError & { diagnostics: Diagnostic[] } {
  const err = new ArgusError('invalid_policy', message, { errors: diagnosticErrors(diagnostics) }) as ArgusError & {
    diagnostics: Diagnostic[];
  };
  err.diagnostics = diagnostics;
  return err;
}

/** How a candidate is evaluated. */
export interface CandidateOptions {
  /** The decision time, given as `now` when the candidate reads it and the request has none. */
  now: Date;
  /** Validate the request against the candidate's schema (as the live evaluation is configured). */
  validateRequest: boolean;
}

/** `context` with `now` added when `set` reads the time and the context has none (the same object otherwise). */
export function withNow(set: CompiledPolicySet, context: Record<string, CedarValue>, now: Date): Record<string, CedarValue> {
  return set.mentionsNow && !('now' in context) ? { ...context, now: nowValue(now) } : context;
}

/** Evaluates `set` on `request`, adding `now` when the set reads it and the request lacks it. */
export function evaluateOnCandidate(set: CompiledPolicySet, request: EvaluationRequest, options: CandidateOptions): EngineDecision {
  const context = withNow(set, request.context, options.now);
  return evaluate(set, context === request.context ? request : { ...request, context }, { validateRequest: options.validateRequest });
}
