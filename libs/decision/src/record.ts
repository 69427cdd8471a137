/** Step 8 — record: metrics, the agent's traffic mark, and the audit record of every decision. */
import type { AuthorizeInput, AuthorizeResponse, AuthorizeResult, DecideOptions, DecisionRecorder } from '@argus/contracts';
import type { DecisionMemo } from '@argus/engine';
import { metric, Counter, Gauge, Histogram, type Registry } from '@argus/platform';
import type { ShadowFlip } from './ports.ts';

/** What the steps leave for the record: the shadow flip, and the earlier decision an approval retry links to. */
export interface DecisionTrail {
  flip?: ShadowFlip;
  related: { id?: string };
}

/** Where a decision is recorded. */
export interface RecordSinks {
  decisions: Counter;
  latency: Histogram;
  recorder?: DecisionRecorder;
  /** Hears every registered agent an authenticated caller asked a decision for (not what-ifs). */
  seen?: (agentId: string) => void;
}

/** The decision metrics (`argus_decisions_total`, `argus_decision_duration_seconds`, memo counts), registered once per registry. */
export function decisionMetrics(registry: Registry, memo: DecisionMemo | undefined): Pick<RecordSinks, 'decisions' | 'latency'> {
  const decisions = metric(
    registry,
    'argus_decisions_total',
    () =>
      new Counter({
        name: 'argus_decisions_total',
        help: 'Decisions by outcome and caller',
        labelNames: ['decision', 'caller'],
        registers: [registry],
      }),
  );
  if (memo) {
    metric(
      registry,
      'argus_decision_memo_total',
      () =>
        new Gauge({
          name: 'argus_decision_memo_total',
          help: 'Memoised Cedar answers: hits, misses, and requests not memoised (skipped) since start',
          labelNames: ['outcome'],
          registers: [registry],
          collect() {
            const s = memo.stats();
            this.set({ outcome: 'hit' }, s.hits);
            this.set({ outcome: 'miss' }, s.misses);
            this.set({ outcome: 'skipped' }, s.skipped);
          },
        }),
    );
  }
  const latency = metric(
    registry,
    'argus_decision_duration_seconds',
    () =>
      new Histogram({
        name: 'argus_decision_duration_seconds',
        help: 'Time to decide, from request to answer',
        labelNames: ['caller'],
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers: [registry],
      }),
  );
  return { decisions, latency };
}

/** When and as what a decision was made. */
export interface DecisionRun {
  decisionId: string;
  now: Date;
  /** `performance.now()` at the start, for the latency. */
  started: number;
}

/** Counts the decision, marks the agent's traffic, and writes the audit record (not for a what-if or `audit: false`). */
export async function record(
  sinks: RecordSinks,
  response: AuthorizeResponse,
  input: AuthorizeInput,
  options: DecideOptions,
  run: DecisionRun,
  trail: DecisionTrail,
): Promise<void> {
  const { result } = response;
  const latencyMs = performance.now() - run.started;
  sinks.decisions.inc({ decision: result.decision, caller: options.caller.kind });
  sinks.latency.observe({ caller: options.caller.kind }, latencyMs / 1000);
  if (sinks.seen && !options.whatIf && options.caller.kind !== 'anonymous' && input.principal?.type === 'Agent' && registeredIn(result))
    sinks.seen(input.principal.id);
  if (options.audit === false || options.whatIf || !sinks.recorder) return;
  const flip = trail.flip;
  const shadow = flip
    ? { shadow: { candidateVersion: flip.candidateVersion, from: flip.from, to: flip.to, candidatePolicies: flip.candidatePolicies } }
    : {};
  await sinks.recorder.record({
    decisionId: response.decision_id,
    time: run.now.toISOString(),
    caller: options.caller,
    input,
    result,
    policyVersion: response.policy_version,
    latencyMs,
    ...shadow,
    ...(trail.related.id ? { relatedDecisionId: trail.related.id } : {}),
  });
}

/** Whether the decision found its Agent principal in the registry (`facts.agent.registered`). */
function registeredIn(result: AuthorizeResult): boolean {
  const agent = (result.facts as { agent?: { registered?: unknown } } | undefined)?.agent;
  return agent?.registered === true;
}
