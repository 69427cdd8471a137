/**
 * Reading decision requests for `explain` and `diff`: a `/v1/authorize` body, a bare input, or a
 * decision record of an audit export (its principal, action, resource, intent, goal, delegation).
 */
import type { AuthorizeInput, AuthorizeRequest, EntityRef } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';

/** One request read from a file, with where it came from and the outcome recorded for it, if any. */
export interface ReadRequest {
  /** 1-based line of a JSONL file (1 for a single document). */
  line: number;
  input: AuthorizeInput;
  /** The outcome an audit record says was decided at the time. */
  recorded?: { outcome: string; policies: string[]; policyVersion?: string; decisionId?: string };
}

/** A line that is not a request. */
export interface RequestProblem {
  line: number;
  path: string;
  message: string;
}

let validateBody: ReturnType<typeof validatorFor<AuthorizeRequest>> | undefined;

/**
 * Turns one JSON document into an authorize input: `{input: ...}` (a `/v1/authorize` body), a
 * bare input, or an audit record (`kind: "decision"`).
 */
export function toRequest(doc: unknown, line: number): { ok: true; request: ReadRequest } | { ok: false; problems: RequestProblem[] } {
  validateBody ??= validatorFor<AuthorizeRequest>('https://argus.dev/schemas/authorize-request.json');
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, problems: [{ line, path: '', message: 'expected a JSON object' }] };
  }
  const rec = doc as Record<string, unknown>;
  let recorded: ReadRequest['recorded'];
  let body: unknown;
  if (rec.kind === 'decision') {
    const input: Record<string, unknown> = { principal: rec.principal, action: rec.action, resource: rec.resource };
    if (typeof rec.intent === 'string') input.intent = rec.intent;
    if (typeof rec.goal === 'string') input.goal = rec.goal;
    if (Array.isArray(rec.delegation) && rec.delegation.length > 0) input.delegation = rec.delegation as EntityRef[];
    const included = (rec.included ?? {}) as Record<string, unknown>;
    for (const [pointer, value] of Object.entries(included)) {
      const m = /^\/input\/context\/([^/]+)$/.exec(pointer);
      if (m) ((input.context ??= {}) as Record<string, unknown>)[m[1]!.replace(/~1/g, '/').replace(/~0/g, '~')] = value;
    }
    body = { input };
    recorded = {
      outcome: String(rec.outcome),
      policies: Array.isArray(rec.policies) ? (rec.policies as string[]) : [],
      ...(typeof rec.policyVersion === 'string' ? { policyVersion: rec.policyVersion } : {}),
      ...(typeof rec.decision_id === 'string' ? { decisionId: rec.decision_id } : {}),
    };
  } else {
    body = 'input' in rec ? rec : { input: rec };
  }
  const v = validateBody(body);
  if (!v.ok) return { ok: false, problems: v.errors.map((e) => ({ line, path: e.path, message: e.message })) };
  return { ok: true, request: { line, input: v.value.input, ...(recorded ? { recorded } : {}) } };
}

/** Reads a JSONL file (blank lines and audit checkpoints skipped), or one JSON document. */
export function parseRequests(text: string): { requests: ReadRequest[]; problems: RequestProblem[] } {
  const requests: ReadRequest[] = [];
  const problems: RequestProblem[] = [];
  const trimmed = text.trim();
  const docs: Array<{ line: number; text: string }> = [];
  if (trimmed.startsWith('{') && !trimmed.includes('\n{')) {
    docs.push({ line: 1, text: trimmed });
  } else {
    text.split('\n').forEach((t, i) => {
      if (t.trim() !== '') docs.push({ line: i + 1, text: t });
    });
  }
  for (const d of docs) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(d.text);
    } catch (err) {
      problems.push({ line: d.line, path: '', message: `not JSON: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    if ((parsed as { kind?: unknown } | null)?.kind === 'checkpoint') continue;
    const r = toRequest(parsed, d.line);
    if (r.ok) requests.push(r.request);
    else problems.push(...r.problems);
  }
  return { requests, problems };
}
