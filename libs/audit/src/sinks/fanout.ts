/**
 * The sink fan-out of the pipeline: every batch goes to every sink, each sink only getting the
 * records of this writer it does not hold yet (so a batch retried after a partial failure is not
 * written twice where it succeeded). A batch is written once every sink holds it.
 */
import type { Logger } from '@argus/platform';
import type { AuditMetrics } from '../metrics.ts';
import type { AuditSink, AuditSinkStats, ChainedRecord, ChainHead } from '../types.ts';

/** One sink and what the writer knows of it. */
class SinkLane {
  /** The last seq of this writer the sink holds. */
  committed = 0;
  healthy = true;
  written = 0;
  batches = 0;
  failed = 0;

  constructor(readonly sink: AuditSink) {}

  stats(): AuditSinkStats {
    return {
      name: this.sink.name,
      committedSeq: this.committed,
      healthy: this.healthy,
      written: this.written,
      batches: this.batches,
      failed: this.failed,
    };
  }
}

/** Writes batches to every sink and keeps per-sink progress and health. */
export class SinkFanout {
  private readonly lanes: SinkLane[];
  private writtenTotal = 0;
  private failedTotal = 0;

  constructor(
    sinks: readonly AuditSink[],
    private readonly writerId: string,
    private readonly logger: Logger,
    private readonly metrics: Pick<AuditMetrics, 'written' | 'batches' | 'failed'>,
  ) {
    this.lanes = sinks.map((sink) => new SinkLane(sink));
  }

  /** Records committed, summed over the sinks. */
  get written(): number {
    return this.writtenTotal;
  }

  /** Failed sink writes. */
  get failedWrites(): number {
    return this.failedTotal;
  }

  names(): string[] {
    return this.lanes.map((l) => l.sink.name);
  }

  /** Learns how far each sink got and returns the furthest head of this writer, if any sink can tell. */
  async resume(): Promise<ChainHead | undefined> {
    let head: ChainHead | undefined;
    for (const lane of this.lanes) {
      const h = lane.sink.head ? await lane.sink.head(this.writerId) : undefined;
      lane.committed = h?.seq ?? 0;
      if (h && (!head || h.seq > head.seq)) head = h;
    }
    return head;
  }

  /** Writes a batch to every sink that does not hold it yet. True when every sink has it. */
  async write(records: readonly ChainedRecord[]): Promise<boolean> {
    const results = await Promise.all(this.lanes.map((lane) => this.writeTo(lane, records)));
    return results.every(Boolean);
  }

  private async writeTo(lane: SinkLane, records: readonly ChainedRecord[]): Promise<boolean> {
    const fresh = records.filter((r) => r.writer === this.writerId && r.seq > lane.committed);
    if (fresh.length === 0) return true;
    const name = lane.sink.name;
    try {
      await lane.sink.write(fresh);
      lane.committed = fresh[fresh.length - 1]!.seq;
      this.writtenTotal += fresh.length;
      lane.written += fresh.length;
      lane.batches++;
      this.metrics.written.inc({ sink: name }, fresh.length);
      this.metrics.batches.inc({ sink: name });
      if (!lane.healthy) this.logger.info({ sink: name }, 'audit sink recovered');
      lane.healthy = true;
      return true;
    } catch (err) {
      this.failedTotal++;
      lane.failed++;
      this.metrics.failed.inc({ sink: name });
      if (lane.healthy) this.logger.error({ sink: name, err: err instanceof Error ? err.message : String(err) }, 'audit sink write failed');
      lane.healthy = false;
      return false;
    }
  }

  /**
   * Where this writer's records may be pruned from: the lowest answer of the sinks that prune
   * (`retainFrom`), so none is told to delete more than another would; undefined when none prunes
   * or one has nothing to prune.
   */
  retainFrom(cutoff: string): number | undefined {
    let from: number | undefined;
    for (const lane of this.lanes) {
      if (!lane.sink.retainFrom) continue;
      const seq = lane.sink.retainFrom(this.writerId, cutoff);
      if (seq === undefined) return undefined;
      from = from === undefined ? seq : Math.min(from, seq);
    }
    return from;
  }

  stats(): AuditSinkStats[] {
    return this.lanes.map((l) => l.stats());
  }

  /** Closes every sink; a failure is logged, not thrown (the others still close). */
  async close(): Promise<void> {
    for (const lane of this.lanes) {
      try {
        await lane.sink.close();
      } catch (err) {
        this.logger.warn({ sink: lane.sink.name, err: err instanceof Error ? err.message : String(err) }, 'audit sink close failed');
      }
    }
  }
}
