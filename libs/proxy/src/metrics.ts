import { Counter, Histogram, metric, type Registry } from '@argus/platform';

/** The proxy's Prometheus metrics, registered once per registry. */
export interface ProxyMetrics {
  /** Decisions by upstream and outcome (`allow`, `deny`, `needs_approval`, `unavailable`). */
  decisions: Counter<'upstream' | 'outcome'>;
  /** Time from forwarding to the upstream's response headers, by upstream and status class. */
  upstreamLatency: Histogram<'upstream' | 'status_class'>;
  /** Upstream failures by kind (`connect`, `timeout`, `reset`, `other`). */
  upstreamErrors: Counter<'upstream' | 'kind'>;
  /** Time spent deciding, by upstream. */
  decisionLatency: Histogram<'upstream'>;
  /** Audit records or usage reports that could not be written (never silently dropped). */
  sinkFailures: Counter<'sink'>;
  /** Model calls with token usage but no price (no cost charged), by upstream. */
  unpricedCalls: Counter<'upstream'>;
}

/** Gets or registers the proxy metrics in `registry`. */
export function proxyMetrics(registry: Registry): ProxyMetrics {
  return {
    decisions: metric(
      registry,
      'argus_proxy_decisions_total',
      () =>
        new Counter({
          name: 'argus_proxy_decisions_total',
          help: 'Proxy decisions by outcome',
          labelNames: ['upstream', 'outcome'],
          registers: [registry],
        }),
    ),
    upstreamLatency: metric(
      registry,
      'argus_proxy_upstream_latency_seconds',
      () =>
        new Histogram({
          name: 'argus_proxy_upstream_latency_seconds',
          help: 'Time from forwarding a call to the upstream response headers',
          labelNames: ['upstream', 'status_class'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers: [registry],
        }),
    ),
    upstreamErrors: metric(
      registry,
      'argus_proxy_upstream_errors_total',
      () =>
        new Counter({
          name: 'argus_proxy_upstream_errors_total',
          help: 'Upstream failures by kind',
          labelNames: ['upstream', 'kind'],
          registers: [registry],
        }),
    ),
    decisionLatency: metric(
      registry,
      'argus_proxy_decision_latency_seconds',
      () =>
        new Histogram({
          name: 'argus_proxy_decision_latency_seconds',
          help: 'Time spent deciding a proxied call',
          labelNames: ['upstream'],
          buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
          registers: [registry],
        }),
    ),
    sinkFailures: metric(
      registry,
      'argus_proxy_sink_failures_total',
      () =>
        new Counter({
          name: 'argus_proxy_sink_failures_total',
          help: 'Audit records and usage reports that failed to be written',
          labelNames: ['sink'],
          registers: [registry],
        }),
    ),
    unpricedCalls: metric(
      registry,
      'argus_proxy_unpriced_calls_total',
      () =>
        new Counter({
          name: 'argus_proxy_unpriced_calls_total',
          help: 'Model calls charged no cost because the model has no price',
          labelNames: ['upstream'],
          registers: [registry],
        }),
    ),
  };
}
