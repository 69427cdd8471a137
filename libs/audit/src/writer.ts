/**
 * The audit writer as the apps see it (`createAuditTrail`, {@link AuditTrail}). The decision thread
 * only builds the value-free record (masks, opted-in paths) and hands records over in batches; the
 * audit thread (a worker, `worker.ts`, driven by `worker-trail.ts`) owns canonical JSON, the hash
 * chain, checkpoints, the sinks and the spill file (`pipeline.ts`). With sink objects passed in, or
 * `thread: 'inline'`, the same pipeline runs on the calling thread instead (`inline-trail.ts`).
 *
 * Durability: `strict` (the default) is group commit — `record` resolves once the batch holding the
 * record is durable in every sink (or fsync'd in the spill file), so a `kill -9` loses no
 * acknowledged decision. `async` resolves at once and may lose the last batch on a crash. Drops
 * (only where configured or when the disk budget is spent) are counted per reason
 * (`argus_audit_dropped_total`, `stats().droppedBy`) and logged.
 */
import type { DecisionEvent, DecisionRecorder, RecordOptions } from '@argus/contracts';
import type { Logger, Registry } from '@argus/platform';
import { parseAuditConfig, type AuditConfig, type AuditConfigInput } from './config.ts';
import { InlineTrail } from './inline-trail.ts';
import { createPipeline } from './pipeline.ts';
import { resolveSigning } from './signing.ts';
import { createSinks } from './sinks/index.ts';
import type { AuditSink, AuditSubscribe, AuditTrailStats } from './types.ts';
import { WorkerTrail } from './worker-trail.ts';

export { resolveSigning, type AuditSigning } from './signing.ts';

/** Collaborators of the writer. */
export interface AuditTrailDeps {
  /**
   * Sink objects to write to. When given, the pipeline runs inline on this thread with them (tests,
   * embedders with their own sink). When absent, the audit thread opens the configured sinks.
   */
  sinks?: AuditSink[];
  logger?: Logger;
  /** Prometheus registry the writer's metrics are registered in. */
  metrics?: Registry;
  clock?: () => Date;
  /** Where the pipeline runs. Default: `worker`, or `inline` when `sinks` are given. */
  thread?: 'worker' | 'inline';
}

/** The audit trail: a `DecisionRecorder` with flush, graceful close, stats and a live feed. */
export interface AuditTrail extends DecisionRecorder, AuditSubscribe {
  readonly writerId: string;
  /**
   * Strict (group commit): resolves once the record is durable. Async: returns at once. Never
   * throws for a sink fault in async mode. `answered` records may gather longer before they are
   * written (see `RecordOptions`).
   */
  record(event: DecisionEvent, options?: RecordOptions): Promise<void>;
  /** Resolves once everything recorded so far is in the sinks, or durable in the spill file if a sink is down. */
  flush(): Promise<void>;
  /** Signs a final checkpoint, flushes everything and closes the sinks. */
  close(): Promise<void>;
  /** Counters; with the worker, as of its last report (`flush()` refreshes them). */
  stats(): AuditTrailStats;
}

/**
 * Builds the audit trail: resumes the chain from the last record held by the sinks or the spill
 * file, and replays a spill file left by a previous run.
 */
export async function createAuditTrail(config: AuditConfig | AuditConfigInput, deps: AuditTrailDeps = {}): Promise<AuditTrail> {
  const cfg = Object.isFrozen(config) ? (config as AuditConfig) : parseAuditConfig(config);
  const signing = resolveSigning(cfg);
  const thread = deps.thread ?? (deps.sinks ? 'inline' : 'worker');
  if (thread === 'inline') {
    const sinks = deps.sinks ?? (await createSinks(cfg)).sinks;
    const pipeline = await createPipeline(cfg, {
      sinks,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(signing.key ? { signingKey: signing.key } : {}),
      ...(signing.headFile ? { headFile: signing.headFile } : {}),
    });
    return new InlineTrail(cfg, pipeline, deps.clock ?? (() => new Date()));
  }
  const trail = new WorkerTrail(cfg, deps, signing);
  await trail.start();
  return trail;
}
