/**
 * The answers a step can end the decision with before Cedar runs (hard denies), and the fail-closed
 * answer of a step that threw.
 */
import type { AuthorizeResult, DenyCode } from '@argus/contracts';
import { isApprovalRefusalCode } from '@argus/contracts';
import { ArgusError, InvalidInputError } from '@argus/platform';
import type { Logger } from 'pino';
import type { SwitchVerdict } from './ports.ts';

/** A step's answer when the decision ends there: the deny to answer, no side effects planned. */
export interface Denied {
  readonly denied: AuthorizeResult;
}

/** Ends the decision with `result`. */
export function denied(result: AuthorizeResult): Denied {
  return { denied: result };
}

/** Whether a step ended the decision. */
export function isDenied(value: object): value is Denied {
  return 'denied' in value;
}

/** A deny with its codes, facts and one-line summary (`hard deny: …` unless the message says otherwise). */
export function deny(
  errors: AuthorizeResult['errors'],
  codes: DenyCode[] = [],
  facts?: Record<string, unknown>,
  message?: string,
): AuthorizeResult {
  const result: AuthorizeResult = { allow: false, decision: 'deny', reasons: [], errors };
  if (codes.length > 0) result.codes = codes;
  if (facts) result.facts = message ? { ...facts, hardDeny: message } : facts;
  if (message)
    result.summary =
      message.startsWith('hard deny') || message.startsWith('request refused') ? message : `hard deny: ${codes.join(', ')} — ${message}`;
  return result;
}

/** The hard deny of a stopped switch (or of switches that cannot be read), with the switch in the facts. */
export function switchDeny(verdict: SwitchVerdict): AuthorizeResult {
  const facts = verdict.code === 'switch_stopped' ? { switch: verdict.switch } : {};
  return deny([], [verdict.code], facts, `hard deny: ${verdict.code} — ${verdict.message}`);
}

/**
 * The answer of a step that threw: a refused approval keeps its code, an unreachable store is
 * `facts_unavailable`, anything else `internal_error`. A refused request (400) is rethrown.
 */
export function failClosed(err: unknown, logger: Logger): AuthorizeResult {
  if (err instanceof InvalidInputError) throw err;
  const refusal = (err as { reason?: unknown; approvalId?: unknown }).reason;
  if (err instanceof ArgusError && isApprovalRefusalCode(refusal)) {
    return deny([{ code: refusal, message: err.message }], [refusal], undefined, err.message);
  }
  const code = err instanceof ArgusError ? err.code : 'internal_error';
  logger.warn({ code, err: err instanceof Error ? err.message : String(err) }, 'decision failed closed');
  const reason = code === 'unavailable' ? 'facts_unavailable' : 'internal_error';
  return deny(
    [{ code, message: err instanceof ArgusError ? err.message : 'internal error while deciding' }],
    [reason],
    undefined,
    `hard deny: ${reason}`,
  );
}

/** Why a step refuses what the policies allowed: the codes and one sentence. */
export interface Refusal {
  codes: DenyCode[];
  message: string;
}
