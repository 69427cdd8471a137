import type { AuthorizeInput, AuthorizeResponse, AuthorizeResult, DecideOptions, DecisionPoint } from '@argus/contracts';
import { InvalidInputError, UnavailableError } from '@argus/platform';

/** Options of a decision point reached over HTTP. */
export interface RemoteDecisionPointOptions {
  /** Base URL of the apdp, e.g. `http://127.0.0.1:8181`; `/v1/authorize` is appended. */
  url: string;
  /** Whole-request deadline; past it the call fails (the proxy then fails closed). */
  timeoutMs: number;
  /** Bearer token presented to the apdp. */
  token?: string;
  /** The fetch to use (tests). */
  fetch?: typeof fetch;
}

/**
 * A `DecisionPoint` that calls a remote apdp's `POST {url}/v1/authorize` (and `/v1/authorize/batch`
 * for {@link BatchDecisionPoint.decideBatch}). A timeout, a network
 * error, a non-200 answer or a malformed body throws `UnavailableError`: the caller fails closed;
 * a 400 (the input refused) throws `InvalidInputError` with its message: the caller's error.
 * `audit: false` is passed as `x-argus-audit: false` so the apdp leaves the record to the proxy,
 * `whatIf` as `x-argus-what-if: true`.
 */
export function createRemoteDecisionPoint(options: RemoteDecisionPointOptions): BatchDecisionPoint {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  /** POSTs `body` to the apdp and answers the parsed 200 body; anything else is `UnavailableError`. */
  const post = async (path: string, body: unknown, decideOptions: DecideOptions): Promise<unknown> => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'x-argus-caller': decideOptions.caller.kind,
    };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (decideOptions.audit === false) headers['x-argus-audit'] = 'false';
    // A what-if must reach the apdp as one: dropping the header would commit its side effects.
    if (decideOptions.whatIf) headers['x-argus-what-if'] = 'true';
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new UnavailableError(
        timedOut ? `decision point did not answer within ${options.timeoutMs} ms` : 'decision point unreachable',
        err,
      );
    }
    if (res.status === 400) {
      // The decision point refused the input (an id it cannot name, a value of the wrong type): the caller's error.
      const problem = (await res.json().catch(() => undefined)) as { message?: unknown; errors?: unknown } | undefined;
      const errors = Array.isArray(problem?.errors)
        ? problem.errors
            .filter((e): e is { path: string; message: string } => typeof e?.path === 'string' && typeof e?.message === 'string')
            .slice(0, 10)
            .map((e) => ({ path: e.path.slice(0, 200), message: e.message.slice(0, 200) }))
        : [];
      const message = typeof problem?.message === 'string' ? problem.message.slice(0, 300) : 'the decision point refused the input';
      throw new InvalidInputError(message, errors);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new UnavailableError(`decision point answered ${res.status}`);
    }
    try {
      return await res.json();
    } catch (err) {
      throw new UnavailableError('decision point answered malformed JSON', err);
    }
  };
  return {
    async decide(input: AuthorizeInput, decideOptions: DecideOptions): Promise<AuthorizeResponse> {
      const body = await post('/v1/authorize', { input, explain: decideOptions.explain ?? 'reasons' }, decideOptions);
      if (!isAuthorizeResponse(body)) throw new UnavailableError('decision point answered an unexpected shape');
      return body;
    },
    async decideBatch(inputs: readonly AuthorizeInput[], decideOptions: DecideOptions): Promise<AuthorizeResponse[]> {
      const body = (await post('/v1/authorize/batch', { inputs, explain: decideOptions.explain ?? 'reasons' }, decideOptions)) as {
        results?: unknown;
      } | null;
      const results = body?.results;
      if (!Array.isArray(results) || results.length !== inputs.length || !results.every(isAuthorizeResponse))
        throw new UnavailableError('decision point answered an unexpected batch shape');
      return results;
    },
  };
}

/** A decision point that also decides several inputs in one round trip (the apdp's batch endpoint). */
export interface BatchDecisionPoint extends DecisionPoint {
  /** One answer per input, in order; throws `UnavailableError` when the batch as a whole fails. */
  decideBatch(inputs: readonly AuthorizeInput[], options: DecideOptions): Promise<AuthorizeResponse[]>;
}

/** True when `body` has the fields the proxy relies on. */
export function isAuthorizeResponse(body: unknown): body is AuthorizeResponse {
  if (!body || typeof body !== 'object') return false;
  const b = body as Partial<AuthorizeResponse>;
  const r = b.result as Partial<AuthorizeResult> | undefined;
  return (
    typeof b.decision_id === 'string' &&
    typeof b.policy_version === 'string' &&
    !!r &&
    typeof r.allow === 'boolean' &&
    typeof r.decision === 'string' &&
    Array.isArray(r.reasons)
  );
}

/**
 * Decides within `timeoutMs` or throws `UnavailableError` (or the decision point's own
 * `InvalidInputError` when it refuses the input). Whatever the decision point answers,
 * only `allow === true` together with `decision === 'allow'` lets a call through.
 */
export function decideWithin(
  point: DecisionPoint,
  input: AuthorizeInput,
  options: DecideOptions,
  timeoutMs: number,
): Promise<AuthorizeResponse> {
  // One promise settled by whichever comes first, the answer or the deadline (no race of three).
  return new Promise<AuthorizeResponse>((resolve, reject) => {
    const timer = setTimeout(() => reject(new UnavailableError(`decision point did not answer within ${timeoutMs} ms`)), timeoutMs);
    // Asked on the next microtask: a decision point that throws synchronously fails like one that rejects.
    Promise.resolve()
      .then(() => point.decide(input, options))
      .then(
        (answer: unknown) => {
          clearTimeout(timer);
          if (isAuthorizeResponse(answer)) resolve(answer);
          else reject(new UnavailableError('decision point answered an unexpected shape'));
        },
        (err: unknown) => {
          clearTimeout(timer);
          // The decision point refused the input itself (an in-process one throws its 400): the
          // caller's error, passed on as it is, never an outage.
          reject(
            err instanceof UnavailableError || err instanceof InvalidInputError ? err : new UnavailableError('decision point failed', err),
          );
        },
      );
  });
}

/** True only for an unambiguous allow. */
export function isAllowed(answer: AuthorizeResponse): boolean {
  return answer.result.allow === true && answer.result.decision === 'allow';
}

/** The result recorded when no decision could be made: a deny, with the reason as an error. */
export function unavailableResult(message: string): AuthorizeResult {
  return { allow: false, decision: 'deny', reasons: [], errors: [{ code: 'decision_unavailable', message }] };
}
