import type { ServerResponse } from 'node:http';
import type { AuthorizeResponse, DecisionReason, DenyCode, ErrorCode } from '@argus/contracts';
import { sendError, sendJson, type Logger } from '@argus/platform';
import type { UpstreamKind } from './config.ts';

/**
 * How much of a refusal an agent may see (`proxy.denyDetail`): `code` — stable codes and the
 * decision id only; `reason` (default) — also the forbidding policies' `@reason` in words;
 * `full` — also the determining policy ids and their annotations.
 */
export type DenyDetail = 'code' | 'reason' | 'full';

/** The error format a caller's SDK reads: the route's upstream kind decides it. */
export type Dialect = 'argus' | 'openai' | 'anthropic' | 'mcp';

/** The dialect of the routes of an upstream of `kind`. */
export function dialectOf(kind: UpstreamKind): Dialect {
  return kind === 'openai' || kind === 'anthropic' || kind === 'mcp' ? kind : 'argus';
}

/** An error answer in the one Argus shape, before it is put in the caller's dialect. */
export interface Problem {
  code: ErrorCode;
  message: string;
  errors: Array<{ path: string; message: string }>;
  /** Anything else the Argus shape carries (decision id, codes, reasons). */
  [extra: string]: unknown;
}

/**
 * The stable codes saying why `answer` is not an allow: the hard-deny codes when the decision
 * point gave some, else `needs_approval`, `policy_forbid` (a forbid matched), `policy_error`
 * (a policy could not be evaluated) or `no_permit` (no policy permits the call).
 */
export function denialCodes(answer: AuthorizeResponse): Array<DenyCode | ErrorCode> {
  const r = answer.result;
  if (r.codes && r.codes.length > 0) return [...r.codes];
  if (r.decision === 'needs_approval') return ['needs_approval'];
  if (r.reasons.some((x) => x.effect === 'forbid')) return ['policy_forbid'];
  if (r.errors.length > 0) return ['policy_error'];
  return ['no_permit'];
}

/** Why `answer` is not an allow, in words, at `detail`, ending with the decision id. */
export function denialMessage(answer: AuthorizeResponse, detail: DenyDetail): string {
  const r = answer.result;
  const codes = denialCodes(answer);
  const ref = `decision ${answer.decision_id}`;
  if (r.decision === 'needs_approval') return `held for approval${r.approval ? ` (approval ${r.approval.id})` : ''} (${ref})`;
  if (detail === 'code') return `denied: ${codes.join(', ')} (${ref})`;
  const reasons = [
    ...new Set(
      forbidding(r.reasons)
        .map((x) => x.annotations.reason)
        .filter((x): x is string => typeof x === 'string' && x.length > 0),
    ),
  ];
  const words = r.codes && r.codes.length > 0 ? r.codes.map(inWords) : reasons.length > 0 ? reasons : codes.map(inWords);
  return `denied: ${words.join('; ')} (${ref})`;
}

/** The Argus-shaped refusal of `answer` (403): policy ids and annotations only at `full`. */
export function deniedProblem(answer: AuthorizeResponse, detail: DenyDetail): Problem {
  const r = answer.result;
  return {
    code: 'forbidden',
    message: denialMessage(answer, detail),
    errors: [],
    decision_id: answer.decision_id,
    decision: r.decision,
    codes: denialCodes(answer),
    ...(detail === 'full' ? { reasons: r.reasons } : {}),
    ...(r.approval ? { approval: r.approval } : {}),
  };
}

/**
 * Sends `problem` with `status` in `dialect`: OpenAI routes `{"error": {message, type, code,
 * param}}`, Anthropic routes `{"type": "error", "error": {type, message}}`, everything else the
 * Argus shape `{code, message, errors}`. The decision id and codes travel in every dialect.
 */
export function sendProblem(res: ServerResponse, dialect: Dialect, status: number, problem: Problem): void {
  sendJson(res, status, inDialect(dialect, status, problem));
}

/** Like `sendError` of the platform (one mapping of anything thrown), in the caller's dialect. */
export function sendFailure(res: ServerResponse, dialect: Dialect, err: unknown, log: Logger): void {
  if (dialect === 'argus' || dialect === 'mcp' || res.headersSent) {
    sendError(res, err, log);
    return;
  }
  // The platform's one mapping, captured, then written in the dialect.
  const captured = { status: 500, text: '' };
  const sink = {
    headersSent: false,
    set statusCode(s: number) {
      captured.status = s;
    },
    setHeader: () => sink,
    end: (text?: string) => {
      captured.text = text ?? '';
    },
  };
  sendError(sink as unknown as ServerResponse, err, log);
  let problem: Problem;
  try {
    problem = JSON.parse(captured.text) as Problem;
  } catch {
    problem = { code: 'internal_error', message: 'internal error', errors: [] };
  }
  sendProblem(res, dialect, captured.status, problem);
}

/** `problem` in `dialect`. */
export function inDialect(dialect: Dialect, status: number, problem: Problem): unknown {
  const { code, message, errors, ...extra } = problem;
  const ids = pick(extra, ['decision_id', 'decision', 'codes', 'reasons', 'approval']);
  if (dialect === 'openai') {
    const first = errors[0]?.path;
    const param = first !== undefined && first !== '' && first !== '/' ? first.replace(/^\//, '').replace(/\//g, '.') : null;
    return { error: { message, type: openAiType(status), code, param, ...ids } };
  }
  if (dialect === 'anthropic') return { type: 'error', error: { type: anthropicType(status), message, ...ids } };
  return problem;
}

function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function anthropicType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function forbidding(reasons: readonly DecisionReason[]): DecisionReason[] {
  const forbids = reasons.filter((r) => r.effect === 'forbid');
  return forbids.length > 0 ? forbids : [];
}

/** `agent_quarantined` → `agent quarantined`. */
function inWords(code: string): string {
  return code.replace(/[_:]+/g, ' ');
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
