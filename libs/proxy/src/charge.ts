/**
 * Counting a call's usage: the cost of the tokens an upstream reported, what the audit record
 * keeps of them, and the report to the goal the call was made under.
 */
import type { ProxyOutcome } from '@argus/contracts';
import { errorSummary } from '@argus/platform';
import type { CallState } from './call.ts';
import type { ProxyContext } from './context.ts';
import type { TokenUsage } from './usage.ts';

/** A call's usage, priced. */
export interface Charge {
  usage: TokenUsage;
  /** Undefined when the model is unknown or has no price. */
  costUsd: number | undefined;
  /** What the audit record keeps. */
  recorded: NonNullable<ProxyOutcome['usage']>;
}

/** The charge of a call that reported usage; none otherwise. */
export function chargeOf(ctx: ProxyContext, state: CallState): Charge | undefined {
  const usage = state.usage;
  if (!usage) return undefined;
  const costUsd = costOfCall(ctx, state, usage);
  return { usage, costUsd, recorded: recordedUsage(usage, costUsd) };
}

/** Reports the tokens (and cost) of a forwarded call made under a goal to that goal's budget. */
export function reportUsage(ctx: ProxyContext, state: CallState, charge: Charge | undefined): void {
  const forwarded = state.decisions.find((d) => d.forwarded);
  const tokens = charge?.usage.totalTokens;
  if (state.goal === undefined || tokens === undefined || !forwarded) return;
  ctx.deps.usage
    .reportUsage({
      goal: state.goal,
      agent: state.agent,
      tokens,
      ...(charge!.costUsd !== undefined ? { costUsd: charge!.costUsd } : {}),
      decisionId: forwarded.answer.decision_id,
    })
    .catch((err: unknown) => {
      ctx.metrics.sinkFailures.inc({ sink: 'usage' });
      state.lazyLog().error({ err: errorSummary(err), goal: state.goal }, 'usage report failed');
    });
}

/**
 * The USD cost of a model call: the model the provider says answered (else the one decided on)
 * at its price. A model with no price is charged nothing, warned about once and counted.
 */
function costOfCall(ctx: ProxyContext, state: CallState, usage: TokenUsage): number | undefined {
  const decided = state.decisions.find((d) => d.forwarded && d.input.resource.type === 'Model')?.input.resource.id;
  const model = usage.model ?? decided;
  if (model === undefined) return undefined;
  const priced = ctx.prices.cost(model, usage);
  if (priced) return priced.costUsd;
  ctx.metrics.unpricedCalls.inc({ upstream: state.upstream.name });
  if (!ctx.unpriced.has(model)) {
    ctx.unpriced.set(model, true);
    state
      .lazyLog()
      .warn(
        { upstream: state.upstream.name, model: model.slice(0, 256) },
        'model has no price: no cost charged (set proxy.prices.models or proxy.prices.unknownModel)',
      );
  }
  return undefined;
}

/** The usage an audit record keeps: the token counts and the cost charged. */
function recordedUsage(usage: TokenUsage, costUsd: number | undefined): NonNullable<ProxyOutcome['usage']> {
  // Assigned one by one (not spread from temporary objects): this runs for every model call.
  const recorded: NonNullable<ProxyOutcome['usage']> = {};
  if (usage.inputTokens !== undefined) recorded.inputTokens = usage.inputTokens;
  if (usage.outputTokens !== undefined) recorded.outputTokens = usage.outputTokens;
  if (usage.totalTokens !== undefined) recorded.totalTokens = usage.totalTokens;
  if (costUsd !== undefined) recorded.costUsd = costUsd;
  if (usage.estimated) recorded.estimated = true;
  return recorded;
}
