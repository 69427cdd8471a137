/**
 * The shutdown of a proxy with calls in flight: what a drain waits for, and what a call still open
 * when the grace runs out is told — a 503 in its caller's dialect when nothing was answered yet,
 * else a final event its SDK reads as an error.
 */
import { SHUTDOWN_EVENT, type DrainHooks } from '@argus/platform';
import { inDialect, sendProblem, type Dialect, type Problem } from './answers.ts';
import type { CallState } from './call.ts';
import type { ProxyContext } from './context.ts';
import { finish } from './record.ts';

/** The answer of a call aborted by a shutdown (its audit record says `aborted`). */
export const SHUTTING_DOWN: Problem = { code: 'unavailable', message: 'the proxy is shutting down: the call was aborted', errors: [] };

/**
 * The last event of a proxied event stream cut by a shutdown: an `error` object on a `data:` line
 * for OpenAI (its SDK throws on it), an `event: error` for Anthropic (likewise), and the platform's
 * `event: shutdown` for MCP and plain HTTP streams.
 */
export function finalStreamEvent(dialect: Dialect): string {
  if (dialect === 'openai') return `data: ${JSON.stringify(inDialect('openai', 503, SHUTTING_DOWN))}\n\n`;
  if (dialect === 'anthropic') return `event: error\ndata: ${JSON.stringify(inDialect('anthropic', 503, SHUTTING_DOWN))}\n\n`;
  return SHUTDOWN_EVENT;
}

/** The drain hooks of a proxy (`Shutdown.addServer(..., { drain })`): the calls in flight, and aborting them. */
export function drainHooks(ctx: ProxyContext): Required<DrainHooks> {
  return {
    inFlight: () => ctx.inFlight.size,
    start: () => {
      // An MCP session's event stream never ends on its own: like the decision stream, it gets
      // its final event as soon as draining starts instead of holding the drain for the grace.
      for (const state of ctx.inFlight)
        if (state.decisions.some((d) => d.forwarded && d.input.context?.mcpMethod === 'session/stream')) abortCall(ctx, state);
    },
    abort: () => {
      for (const state of ctx.inFlight) abortCall(ctx, state);
    },
  };
}

/**
 * Ends a call the shutdown grace ran out on: recorded first (`aborted`), then answered 503 in
 * its caller's dialect, or, mid-stream, given a final error event; the upstream call is dropped
 * once the answer is flushed. A call answering a body that is not an event stream is cut.
 */
function abortCall(ctx: ProxyContext, state: CallState): void {
  const call = state.inFlight;
  if (state.done || !call) return;
  call.aborted = true;
  finish(ctx, state, { status: state.status, error: 'aborted' });
  const { res } = call;
  const dropUpstream = () => {
    call.upstreamRes?.destroy();
    call.upstreamReq?.destroy();
  };
  res.on('error', () => undefined);
  if (!res.headersSent) {
    dropUpstream();
    res.shouldKeepAlive = false;
    sendProblem(res, state.dialect, 503, SHUTTING_DOWN);
  } else if (call.cut) {
    call.cut();
    res.end(finalStreamEvent(state.dialect), dropUpstream);
  } else {
    dropUpstream();
    res.destroy();
  }
}
