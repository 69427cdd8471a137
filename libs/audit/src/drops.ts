/**
 * Drop accounting of the audit pipeline: every record that is not written is counted per reason
 * (`argus_audit_dropped_total{reason}`, `stats().droppedBy`) and logged, the first drop at once and
 * the rest summed up once a second, so a storm of drops cannot flood the log.
 */
import type { Counter, Logger } from '@argus/platform';

/** Why a record was not written. */
export type DropReason = 'buffer_full' | 'spill_full' | 'spill_failed' | 'closed' | 'thread_failed';

/** How long drops after the first are gathered into one log line. */
const SUMMARY_MS = 1000;

/** Counts and logs drops. */
export class DropCounter {
  private count = 0;
  private readonly byReason: Record<string, number> = {};
  /** Drops since the last log line, logged together when the timer fires. */
  private readonly unlogged = { count: 0, reason: '', timer: undefined as NodeJS.Timeout | undefined };

  constructor(
    private readonly logger: Logger,
    private readonly metric: Counter,
  ) {}

  /** Every drop so far. */
  get total(): number {
    return this.count;
  }

  /** Drops so far by reason (a copy). */
  snapshot(): Record<string, number> {
    return { ...this.byReason };
  }

  /** Counts one dropped record; `id` names it in the log (a decision id, or `checkpoint:<seq>`). */
  drop(reason: DropReason, id: string): void {
    this.count++;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    this.metric.inc({ reason });
    const log = this.unlogged;
    if (!log.timer) {
      this.logger.warn({ reason, decisionId: id, dropped: 1, droppedTotal: this.count }, 'audit record dropped');
      log.timer = setTimeout(() => this.flushLog(), SUMMARY_MS);
      log.timer.unref();
    } else {
      log.count++;
      log.reason = reason;
    }
  }

  /** Logs the drops not logged yet (on close, or when the summary timer fires). */
  flushLog(): void {
    const log = this.unlogged;
    clearTimeout(log.timer);
    log.timer = undefined;
    if (log.count > 0) this.logger.warn({ reason: log.reason, dropped: log.count, droppedTotal: this.count }, 'audit records dropped');
    log.count = 0;
  }
}
