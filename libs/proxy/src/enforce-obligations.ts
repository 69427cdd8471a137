/** Taking on the obligations a call goes up under, or refusing the call when one cannot be applied. */
import type { ServerResponse } from 'node:http';
import { sendProblem } from './answers.ts';
import type { CallState } from './call.ts';
import type { ProxyContext } from './context.ts';
import type { Verdict } from './decide.ts';
import { obligationsOf, rewritesBody } from './obligations.ts';
import { finish } from './record.ts';

/**
 * Takes the obligations of the allows the call goes up under (merged to the strictest) into
 * `state.obligations`. Refuses the call (answered 403, recorded) when one cannot be applied: an
 * obligation the proxy does not know, or a body rewrite asked of a streamed model answer (its
 * deltas cannot be redacted safely).
 */
export function acceptObligations(ctx: ProxyContext, state: CallState, res: ServerResponse): Verdict {
  const forwarded = state.decisions.filter((d) => d.forwarded);
  if (!forwarded.some((d) => d.answer.result.obligations)) return 'forward';
  const o = obligationsOf(forwarded.map((d) => d.answer));
  const streamed = state.upstream.kind !== 'mcp' && forwarded.some((d) => d.input.context?.stream === true);
  const why =
    o.unknown.length > 0
      ? `obligation \`${o.unknown.join(', ')}\` cannot be applied by the proxy`
      : rewritesBody(o) && streamed
        ? 'a streamed answer cannot be redacted or truncated: ask without `stream`'
        : undefined;
  if (why !== undefined) {
    // The allows stay recorded as allows, with the refusal as the call's outcome.
    const decisionId = forwarded[0]!.answer.decision_id;
    ctx.metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'obligation' });
    sendProblem(res, state.dialect === 'mcp' ? 'argus' : state.dialect, 403, {
      code: 'forbidden',
      message: `refused: ${why} (decision ${decisionId})`,
      errors: [],
      decision_id: decisionId,
      codes: ['obligation_unenforceable'],
    });
    finish(ctx, state, { status: undefined, error: 'obligation_unenforceable' });
    return 'answered';
  }
  state.obligations = o;
  return 'forward';
}
