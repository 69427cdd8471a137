/**
 * The shutdown of a proxy with calls in flight: what a drain waits for, and what a call still open
 * when the grace runs out is told — a 503 in its caller's dialect when nothing was answered yet,
 * else a final event its SDK reads as an error.
 */
import { SHUTDOWN_EVENT, type DrainHooks } from '@argus/platform';
import { inDialect, sendProblem, type Dialect, type Problem } from './answers.ts';
import type { AuthorizeInput } from '@argus/contracts';
import type { CallState } from './call.ts';
import type { AgentChange, ProxyContext } from './context.ts';
import { finish } from './record.ts';

/** The answer of a call aborted by a shutdown (its audit record says `aborted`). */
export const SHUTTING_DOWN: Problem = { code: 'unavailable', message: 'the proxy is shutting down: the call was aborted', errors: [] };

/** Why a call in flight is cut: what it is recorded as, and what its caller is told. */
export interface Cut {
  error: 'aborted' | 'stopped';
  status: number;
  problem: Problem;
}

/** A call cut by a shutdown. */
export const SHUTDOWN_CUT: Cut = { error: 'aborted', status: 503, problem: SHUTTING_DOWN };

/**
 * The last event of a proxied event stream that is cut: an `error` object on a `data:` line for
 * OpenAI (its SDK throws on it), an `event: error` for Anthropic (likewise), and for MCP and plain
 * HTTP streams the platform's `event: shutdown` (a shutdown) or an `event: error` (a stop).
 */
export function finalStreamEvent(dialect: Dialect, cut: Cut = SHUTDOWN_CUT): string {
  if (dialect === 'openai') return `data: ${JSON.stringify(inDialect('openai', cut.status, cut.problem))}\n\n`;
  if (dialect === 'anthropic') return `event: error\ndata: ${JSON.stringify(inDialect('anthropic', cut.status, cut.problem))}\n\n`;
  return cut === SHUTDOWN_CUT ? SHUTDOWN_EVENT : `event: error\ndata: ${JSON.stringify(cut.problem)}\n\n`;
}

/**
 * Cuts every call in flight that a kill switch now stops (a decision it went up under would now be
 * `switch_stopped`): recorded `stopped`, its caller told why. Called after each read of the
 * switches, so a stop reaches running streams within the switch propagation time.
 */
export function cutStopped(
  ctx: ProxyContext,
  switches: { check(input: AuthorizeInput): { code: string; message: string } | undefined },
): void {
  for (const state of ctx.inFlight) {
    for (const d of state.decisions) {
      if (!d.forwarded) continue;
      const verdict = switches.check(d.input);
      if (verdict?.code !== 'switch_stopped') continue;
      abortCall(ctx, state, {
        error: 'stopped',
        status: 403,
        problem: { code: 'forbidden', message: `the call was cut: ${verdict.message}`, errors: [] },
      });
      break;
    }
  }
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
 * Cuts every call in flight made by agent `change.id`, or on its authority (it is in a chain the
 * call went up under), once that agent is revoked, quarantined or deleted: recorded `stopped`.
 */
export function cutAgent(ctx: ProxyContext, change: AgentChange): void {
  const why = change.deleted ? 'deleted' : change.trust;
  if (why !== 'revoked' && why !== 'quarantined' && why !== 'deleted') return;
  const involved = (input: AuthorizeInput) =>
    (input.principal.type.replace(/^Argus::/, '') === 'Agent' && input.principal.id === change.id) ||
    (input.delegation ?? []).some((e) => e.type.replace(/^Argus::/, '') === 'Agent' && e.id === change.id);
  const message = `the call was cut: agent \`${change.id}\` is ${why}`;
  for (const state of ctx.inFlight) {
    if (state.decisions.some((d) => d.forwarded && involved(d.input))) {
      abortCall(ctx, state, { error: 'stopped', status: 403, problem: { code: 'forbidden', message, errors: [] } });
    }
  }
}

/**
 * Ends a call in flight (the shutdown grace ran out, or a switch stopped it): recorded first
 * (`aborted`, `stopped`), then answered in its caller's dialect, or, mid-stream, given a final error
 * event; the upstream call is dropped once the answer is flushed. A call answering a body that is
 * not an event stream is cut.
 */
function abortCall(ctx: ProxyContext, state: CallState, cut: Cut = SHUTDOWN_CUT): void {
  const call = state.inFlight;
  if (state.done || !call) return;
  call.aborted = true;
  finish(ctx, state, { status: state.status, error: cut.error });
  const { res } = call;
  const dropUpstream = () => {
    call.upstreamRes?.destroy();
    call.upstreamReq?.destroy();
  };
  res.on('error', () => undefined);
  if (!res.headersSent) {
    dropUpstream();
    res.shouldKeepAlive = false;
    sendProblem(res, state.dialect, cut.status, cut.problem);
  } else if (call.cut) {
    call.cut();
    res.end(finalStreamEvent(state.dialect, cut), dropUpstream);
  } else {
    dropUpstream();
    res.destroy();
  }
}
