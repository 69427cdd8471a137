import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry per process (or per app instance in tests), with default process metrics. */
export function createMetricsRegistry(options: { defaultMetrics?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: options.prefix ?? 'argus_' });
  return registry;
}

/** Returns the metric registered under `name`, or registers the one `make` builds. */
export function metric<T extends Counter | Gauge | Histogram>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export { Counter, Gauge, Histogram, Registry };
