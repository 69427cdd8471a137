/**
 * The end of every call, however it ends: its audit record(s) — one per decision, under the
 * decision's id — its usage counted and its access-log line, written exactly once.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthorizeInput, DecisionEvent, DenyCode, ProxyOutcome } from '@argus/contracts';
import { ArgusError, errorSummary, mapBodyParserError, type Logger } from '@argus/platform';
import { ANONYMOUS, REFUSED_BY_PROXY, refusal, type CallOutcome, type CallState, type Decided, type Seen } from './call.ts';
import { chargeOf, reportUsage } from './charge.ts';
import type { ProxyContext } from './context.ts';
import { buildInput } from './facts.ts';
import type { CallDescription } from './route-mapping.ts';
import type { Route } from './routing.ts';

/** Writes the audit record(s) and the usage report once per call. */
export function finish(ctx: ProxyContext, state: CallState, outcome: CallOutcome): void {
  if (state.done) return;
  state.done = true;
  // A call ended before its answer did (the client left, a shutdown cut it, the upstream failed
  // mid-stream) is charged what the provider reported up to then.
  if (state.usage === undefined && state.usageSoFar) state.usage = state.usageSoFar();
  ctx.inFlight.delete(state);
  for (const t of state.timers) clearTimeout(t);
  const charge = chargeOf(ctx, state);
  audit(ctx, state, outcome, charge?.recorded);
  reportUsage(ctx, state, charge);
  logCall(ctx, state, outcome, charge?.recorded);
}

/**
 * Records a call refused before (or without) a decision — unreadable body, non-canonical path,
 * bad Argus header, no model, no credential — so that every refused call has its record.
 */
export function recordFailure(
  ctx: ProxyContext,
  route: Route,
  req: IncomingMessage,
  seen: Seen,
  err: unknown,
  log: () => Logger,
  code?: DenyCode,
): void {
  if (seen.state?.done) return;
  const state: CallState = seen.state ?? {
    upstream: route.upstream,
    dialect: route.dialect,
    agent: seen.agent ?? ANONYMOUS,
    ...(seen.agent === undefined ? { anonymous: true } : {}),
    decisions: [],
    started: seen.started,
    timers: [],
    done: false,
    lazyLog: log,
  };
  // The body parser's own errors (a body too large once decoded, an unknown encoding) are the client's.
  const known = err instanceof ArgusError ? err : mapBodyParserError(err);
  const reason = code ?? (known ? known.code : 'internal_error');
  const path = ((req.url ?? '/').split('?', 1)[0] || '/').slice(0, 512);
  const call: CallDescription = {
    action: 'proxy:request',
    resource: { type: 'Api', id: route.upstream.name },
    context: { upstream: route.upstream.name, method: req.method ?? 'GET', path },
  };
  refusal(ctx, state, buildInput(state.agent, {}, call), reason);
  finish(ctx, state, { status: undefined, error: 'refused' });
}

/** One audit record per decision the call was made under (scrubbed; a failing sink is counted and logged); none when the trail is off. */
function audit(ctx: ProxyContext, state: CallState, outcome: CallOutcome, usage: ProxyOutcome['usage']): void {
  const recorder = ctx.deps.recorder;
  if (!recorder) return;
  const journal = ctx.deps.journal;
  for (const d of state.decisions) {
    const event = ctx.scrubber.scrubDeep(eventOf(state, d, outcome, usage));
    // The call has ended and been answered: nothing waits for its record.
    recorder.record(event, { answered: true }).then(
      // Its record is durable: the journal entry written before forwarding is done.
      () => journal?.done(event.decisionId),
      (err: unknown) => {
        ctx.metrics.sinkFailures.inc({ sink: 'audit' });
        state.lazyLog().error({ err: errorSummary(err), decisionId: event.decisionId }, 'audit record failed');
      },
    );
  }
}

/**
 * Writes to the journal (`journal.ts`) the event of every decision the call is about to go up
 * under, as its record would say if the call ended now (no status yet). Throws when it cannot be
 * written: the call is then refused, never forwarded unjournaled.
 */
export function journalForwarded(ctx: ProxyContext, state: CallState): void {
  const journal = ctx.deps.journal;
  if (!journal || !ctx.deps.recorder) return;
  for (const d of state.decisions) {
    if (!d.forwarded) continue;
    // One JSON text, scrubbed as text: the JSON-escaped form of every secret is one of the scrubber's forms.
    const event = eventOf(state, d, { status: undefined, error: undefined }, undefined);
    journal.started(event.decisionId, ctx.scrubber.scrub(JSON.stringify(event)));
  }
}

/** The audit event of decision `d` of a call that ended with `outcome`. */
function eventOf(state: CallState, d: Decided, outcome: CallOutcome, usage: ProxyOutcome['usage']): DecisionEvent {
  return {
    decisionId: d.answer.decision_id,
    time: new Date(state.started).toISOString(),
    caller: state.anonymous ? { kind: 'proxy' } : { kind: 'proxy', subject: state.agent },
    // `log_values: false`: the record keeps which facts there were, not their values.
    input: state.obligations?.logValues === false ? withheld(d.input) : d.input,
    result: d.answer.result,
    policyVersion: d.answer.policy_version,
    latencyMs: Math.round(d.latencyMs * 1000) / 1000,
    proxy: proxyOutcome(state, d, outcome, usage),
  };
}

/** What became of the call under decision `d`: the upstream's status and usage if it went up, else why not. */
function proxyOutcome(state: CallState, d: Decided, outcome: CallOutcome, usage: ProxyOutcome['usage']): ProxyOutcome {
  const out: ProxyOutcome = { upstream: state.upstream.name };
  if (!d.forwarded) {
    out.error =
      d.answer.policy_version === 'unavailable'
        ? 'decision_unavailable'
        : d.answer.policy_version === REFUSED_BY_PROXY
          ? 'refused'
          : 'denied';
    return out;
  }
  if (outcome.status !== undefined) out.status = outcome.status;
  if (state.credential) out.credentialName = state.credential.name;
  if (usage) out.usage = usage;
  if (outcome.error !== undefined) out.error = outcome.error;
  return out;
}

/** The call's access-log line (at `info`). */
function logCall(ctx: ProxyContext, state: CallState, outcome: CallOutcome, usage: ProxyOutcome['usage']): void {
  if (!ctx.deps.logger.isLevelEnabled('info')) return;
  state.lazyLog().info(
    {
      upstream: state.upstream.name,
      agent: state.agent,
      decisionIds: state.decisions.map((d) => d.answer.decision_id),
      outcome: state.decisions.length === 0 ? 'pass' : state.decisions.every((d) => d.forwarded) ? 'allow' : 'deny',
      status: outcome.status,
      error: outcome.error,
      credentialName: state.credential?.name,
      usage,
      ...(state.applied ? { obligations: { redacted: state.applied.redacted, truncated: state.applied.truncated.length } } : {}),
      ms: ctx.now() - state.started,
    },
    'proxied call',
  );
}

/** `input` with every context value replaced (the names stay): for `log_values: false`. */
function withheld(input: AuthorizeInput): AuthorizeInput {
  if (!input.context) return input;
  return { ...input, context: Object.fromEntries(Object.keys(input.context).map((k) => [k, '[withheld]'])) };
}
