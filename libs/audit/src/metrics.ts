/**
 * The audit writer's Prometheus metrics (`argus_audit_*`), registered once per registry, and the
 * mirror that brings them up to the totals the audit thread reports.
 */
import { Counter, Gauge, metric, type Registry } from '@argus/platform';
import type { AuditTrailStats } from './types.ts';

/** The writer's Prometheus metrics. */
export interface AuditMetrics {
  queueDepth: Gauge;
  spillBacklog: Gauge;
  written: Counter;
  batches: Counter;
  failed: Counter;
  spilled: Counter;
  replayed: Counter;
  dropped: Counter;
  checkpoints: Counter;
}

/** Registers (or finds) the writer's metrics in `registry`. */
export function auditMetrics(registry: Registry): AuditMetrics {
  const reg = [registry];
  return {
    queueDepth: metric(
      registry,
      'argus_audit_queue_depth',
      () => new Gauge({ name: 'argus_audit_queue_depth', help: 'audit records buffered in memory', registers: reg }),
    ),
    spillBacklog: metric(
      registry,
      'argus_audit_spill_backlog_bytes',
      () => new Gauge({ name: 'argus_audit_spill_backlog_bytes', help: 'spill file bytes not yet replayed', registers: reg }),
    ),
    written: metric(
      registry,
      'argus_audit_written_total',
      () =>
        new Counter({ name: 'argus_audit_written_total', help: 'audit records committed, per sink', labelNames: ['sink'], registers: reg }),
    ),
    batches: metric(
      registry,
      'argus_audit_batches_total',
      () =>
        new Counter({
          name: 'argus_audit_batches_total',
          help: 'audit batches committed (one transaction each), per sink; written / batches is the mean batch',
          labelNames: ['sink'],
          registers: reg,
        }),
    ),
    failed: metric(
      registry,
      'argus_audit_write_failures_total',
      () =>
        new Counter({
          name: 'argus_audit_write_failures_total',
          help: 'failed audit sink writes, per sink',
          labelNames: ['sink'],
          registers: reg,
        }),
    ),
    spilled: metric(
      registry,
      'argus_audit_spilled_total',
      () => new Counter({ name: 'argus_audit_spilled_total', help: 'audit records written to the local spill file', registers: reg }),
    ),
    replayed: metric(
      registry,
      'argus_audit_replayed_total',
      () => new Counter({ name: 'argus_audit_replayed_total', help: 'audit records replayed from the spill file', registers: reg }),
    ),
    dropped: metric(
      registry,
      'argus_audit_dropped_total',
      () =>
        new Counter({
          name: 'argus_audit_dropped_total',
          help: 'audit records dropped (configured onFull: drop, spill full, after close)',
          labelNames: ['reason'],
          registers: reg,
        }),
    ),
    checkpoints: metric(
      registry,
      'argus_audit_checkpoints_total',
      () => new Counter({ name: 'argus_audit_checkpoints_total', help: 'signed chain checkpoints written', registers: reg }),
    ),
  };
}

/**
 * The metrics of the decision thread, fed from the audit thread's reports: those are running
 * totals, so each report adds only what grew since the one before.
 */
export class MetricsMirror {
  private readonly seen = {
    spilled: 0,
    replayed: 0,
    checkpoints: 0,
    written: new Map<string, number>(),
    batches: new Map<string, number>(),
    failed: new Map<string, number>(),
    dropped: new Map<string, number>(),
  };

  constructor(private readonly m: AuditMetrics) {}

  /** Brings the metrics up to the totals of `s`. */
  apply(s: AuditTrailStats): void {
    const seen = this.seen;
    this.m.queueDepth.set(s.queued);
    this.m.spillBacklog.set(s.spillBacklogBytes);
    const inc = (c: { inc: (n: number) => void }, now: number, before: number) => now > before && c.inc(now - before);
    inc(this.m.spilled, s.spilled, seen.spilled);
    inc(this.m.replayed, s.replayed, seen.replayed);
    inc(this.m.checkpoints, s.checkpoints, seen.checkpoints);
    seen.spilled = Math.max(seen.spilled, s.spilled);
    seen.replayed = Math.max(seen.replayed, s.replayed);
    seen.checkpoints = Math.max(seen.checkpoints, s.checkpoints);
    for (const sink of s.sinks) {
      const before = seen.written.get(sink.name) ?? 0;
      if (sink.written > before) this.m.written.inc({ sink: sink.name }, sink.written - before);
      seen.written.set(sink.name, Math.max(before, sink.written));
      const bBefore = seen.batches.get(sink.name) ?? 0;
      if (sink.batches > bBefore) this.m.batches.inc({ sink: sink.name }, sink.batches - bBefore);
      seen.batches.set(sink.name, Math.max(bBefore, sink.batches));
      const fBefore = seen.failed.get(sink.name) ?? 0;
      if (sink.failed > fBefore) this.m.failed.inc({ sink: sink.name }, sink.failed - fBefore);
      seen.failed.set(sink.name, Math.max(fBefore, sink.failed));
    }
    for (const [reason, n] of Object.entries(s.droppedBy)) {
      const before = seen.dropped.get(reason) ?? 0;
      if (n > before) this.m.dropped.inc({ reason }, n - before);
      seen.dropped.set(reason, Math.max(before, n));
    }
  }
}
