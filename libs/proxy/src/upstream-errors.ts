/** An upstream that cannot be reached, resets or stays silent: 502/504 before any byte, else a cut; recorded. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorSummary } from '@argus/platform';
import { sendProblem } from './answers.ts';
import type { ProxyContext } from './context.ts';
import { finish } from './record.ts';

/** An upstream that cannot be reached or timed out: 502/504 before any byte was sent, else a cut. */
export function onProxyError(ctx: ProxyContext, err: Error, req: IncomingMessage, res: ServerResponse): void {
  const state = ctx.states.get(req);
  // An aborted call was answered and recorded by `abortCall`; dropping its upstream is not news.
  if (state?.inFlight?.aborted) return;
  const kind = errorKind(err);
  if (state && !state.done) {
    if (kind !== 'client_closed') ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind });
    state.lazyLog().warn({ upstream: state.upstream.name, kind, err: ctx.scrubber.scrubDeep(errorSummary(err)) }, 'upstream call failed');
  }
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    const timeout = kind === 'timeout';
    sendProblem(res, state?.dialect ?? 'argus', timeout ? 504 : 502, {
      code: timeout ? 'timeout' : 'upstream_error',
      message: timeout ? 'upstream did not answer in time' : 'upstream unreachable',
      errors: [],
    });
  } else if (res && typeof res.destroy === 'function') {
    res.destroy();
  }
  if (state) finish(ctx, state, { status: state.status, error: kind });
}

/** The kind of an upstream failure, for the metrics and the record (`timeout`, `connect`, `reset`, `client_closed`, `other`). */
export function errorKind(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (code.endsWith('_TIMEOUT') || code === 'ETIMEDOUT') return 'timeout';
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') return 'connect';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'client_closed';
    // zlib's and brotli's own codes (Z_DATA_ERROR, ERR__ERROR_FORMAT_...): a corrupt encoded answer.
    if (code.startsWith('Z_') || code.startsWith('ERR__ERROR_')) return 'encoding';
  }
  return 'other';
}
