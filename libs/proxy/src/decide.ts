/**
 * Deciding a call: the Cedar request of what it asks, put to the decision point within the
 * configured time. Fails closed: no answer, a late answer or a failing decision point is a 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizeInput } from '@argus/contracts';
import { ArgusError, errorSummary, InvalidInputError, newDecisionId, toErrorBody } from '@argus/platform';
import { deniedProblem, sendProblem } from './answers.ts';
import { refusal, type CallState, type Decided } from './call.ts';
import type { Caller } from './caller.ts';
import type { ProxyContext } from './context.ts';
import { decideWithin, isAllowed, unavailableResult } from './decision.ts';
import { buildInput, type Facts } from './facts.ts';
import { finish } from './record.ts';
import { describeHttpCall, type CallDescription } from './route-mapping.ts';
import type { Route } from './routing.ts';

/** What a decision step leaves: a call to forward, or one already answered (and recorded). */
export type Verdict = 'forward' | 'answered';

/**
 * Decides a call on an `openai`, `anthropic` or `http` upstream (see `describeHttpCall`): an
 * allow is forwarded; a deny or a hold is answered 403 in the route's dialect.
 */
export async function decideHttpCall(
  ctx: ProxyContext,
  route: Route,
  req: IncomingMessage,
  path: string,
  caller: Caller,
  state: CallState,
  res: ServerResponse,
): Promise<Verdict> {
  const call = describeHttpCall(route.upstream, req.method ?? 'GET', path, state.body, ctx.config.limits.maxJsonDepth);
  const decided = await decideCall(ctx, caller.facts, call, state, res);
  if (!decided) return 'answered';
  if (!isAllowed(decided.answer)) {
    decided.forwarded = false;
    sendProblem(res, route.dialect, 403, deniedProblem(decided.answer, ctx.config.denyDetail));
    finish(ctx, state, { status: undefined, error: 'denied' });
    return 'answered';
  }
  // Chat and legacy completions only: the Responses API reports usage in its last event anyway.
  const streamsChunks = call.context.operation === 'chat.completions' || call.context.operation === 'completions';
  const doc = call.document;
  const metered =
    doc && call.context.stream === true && route.upstream.kind === 'openai' && streamsChunks ? withStreamUsage(doc) : undefined;
  if (metered) {
    state.body = metered;
    state.stripUsageChunk = true;
  }
  return 'forward';
}

/**
 * An OpenAI streaming body that does not ask for usage, rewritten to ask for it
 * (`stream_options.include_usage`): without it the stream reports no tokens and the goal's budget
 * would never be charged. Undefined when the client asked already (its chunk is then its own). The
 * body goes up re-serialized from the document the decision read.
 */
function withStreamUsage(doc: Record<string, unknown>): Buffer | undefined {
  const options = doc.stream_options;
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) return undefined;
  if ((options as { include_usage?: unknown } | undefined)?.include_usage === true) return undefined;
  return Buffer.from(JSON.stringify({ ...doc, stream_options: { ...(options as object | undefined), include_usage: true } }));
}

/** Decides one described call; on failure answers 503 (fail closed) and records it. */
export async function decideCall(
  ctx: ProxyContext,
  facts: Facts,
  call: CallDescription,
  state: CallState,
  res: ServerResponse,
): Promise<Decided | undefined> {
  const { upstream } = state;
  const input = buildInput(state.agent, facts, call);
  const t0 = performance.now();
  try {
    const answer = await decideWithin(
      ctx.deps.decisionPoint,
      input,
      { caller: { kind: 'proxy', subject: state.agent }, audit: false, explain: 'reasons' },
      ctx.config.decision.timeoutMs,
    );
    const latencyMs = performance.now() - t0;
    ctx.metrics.decisionLatency.observe({ upstream: upstream.name }, latencyMs / 1000);
    ctx.metrics.decisions.inc({
      upstream: upstream.name,
      outcome: isAllowed(answer) ? 'allow' : answer.result.decision === 'needs_approval' ? 'needs_approval' : 'deny',
    });
    const decided: Decided = { input, answer, latencyMs, forwarded: true };
    state.decisions.push(decided);
    return decided;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      // Refused by the decision point as bad input: the caller's 400, recorded, nothing forwarded.
      const decided = refusal(ctx, state, input, 'invalid_parameter');
      const { status, body } = toErrorBody(err);
      sendProblem(res, state.dialect, status, { ...body, decision_id: decided.answer.decision_id });
      finish(ctx, state, { status: undefined, error: 'refused' });
      return undefined;
    }
    recordUnavailable(ctx, input, state, err, performance.now() - t0);
    sendProblem(res, state.dialect, 503, { code: 'unavailable', message: 'decision point unavailable; call refused', errors: [] });
    return undefined;
  }
}

/** Records a call no decision could be made for (a deny with the reason as an error) and ends it. */
function recordUnavailable(ctx: ProxyContext, input: AuthorizeInput, state: CallState, err: unknown, latencyMs: number): void {
  const { upstream } = state;
  ctx.metrics.decisions.inc({ upstream: upstream.name, outcome: 'unavailable' });
  const message = err instanceof ArgusError ? err.message : 'decision point failed';
  state.lazyLog().warn({ upstream: upstream.name, err: errorSummary(err) }, 'decision unavailable; failing closed');
  state.decisions.push({
    input,
    answer: { decision_id: newDecisionId(), policy_version: 'unavailable', result: unavailableResult(message) },
    latencyMs,
    forwarded: false,
  });
  finish(ctx, state, { status: undefined, error: 'decision_unavailable' });
}
