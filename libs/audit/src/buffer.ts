/**
 * The bounded memory side of the audit writer: chained records wait here for the sinks and leave in
 * batches ({@link RecordBuffer}); when the bound is reached the configured `onFull` policy applies
 * ({@link BackPressure}: spill, drop or make the caller wait).
 */
import type { AuditConfig } from './config.ts';
import type { ChainedRecord } from './types.ts';

/** Settles a strict caller's `record()` once its record is durable, or could not be made so. */
export interface Durable {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A chained record on its way to the sinks, with its strict caller, if any. */
export interface PendingRecord {
  rec: ChainedRecord;
  done?: Durable;
}

/** The decision id of a record, or `checkpoint:<seq>`, to name it in a log line. */
export function recordId(rec: ChainedRecord): string {
  return rec.kind === 'decision' ? rec.decision_id : `checkpoint:${rec.seq}`;
}

/** The in-memory queue: records in chain order, taken a batch at a time. */
export class RecordBuffer {
  private items: PendingRecord[] = [];

  constructor(private readonly limits: Pick<AuditConfig['buffer'], 'maxRecords' | 'batchSize'>) {}

  /** Records waiting. */
  get length(): number {
    return this.items.length;
  }

  /** True at the bound (`maxRecords`). */
  get full(): boolean {
    return this.items.length >= this.limits.maxRecords;
  }

  /** True when a whole batch is waiting. */
  get hasBatch(): boolean {
    return this.items.length >= this.limits.batchSize;
  }

  /** Records that fit before the bound. */
  room(): number {
    return this.limits.maxRecords - this.items.length;
  }

  push(item: PendingRecord): void {
    this.items.push(item);
  }

  /** Takes the oldest batch (up to `batchSize` records). */
  takeBatch(): PendingRecord[] {
    return this.items.splice(0, this.limits.batchSize);
  }

  /** Puts a batch the sinks refused back in front, where it came from. */
  putBack(batch: readonly PendingRecord[]): void {
    this.items.unshift(...batch);
  }

  /** Takes everything, oldest first, and leaves the buffer empty. */
  takeAll(): PendingRecord[] {
    const all = this.items;
    this.items = [];
    return all;
  }
}

/** What to do with a new record. */
export type Admission = 'accept' | 'wait' | 'drop';

/**
 * The `onFull` policy and the callers it holds back. With `block`, a new record waits while the
 * buffer is full or while earlier callers still wait (first come, first served); with `drop`, a
 * record arriving at a full buffer is dropped; with `spill`, it is always accepted (the pipeline
 * sends it to the spill file).
 */
export class BackPressure {
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly onFull: AuditConfig['buffer']['onFull']) {}

  /** The fate of a new record, given whether the buffer is at its bound. */
  admit(full: boolean): Admission {
    if (this.onFull === 'block' && (full || this.waiting.length > 0)) return 'wait';
    if (full && this.onFull === 'drop') return 'drop';
    return 'accept';
  }

  /** Resolves when {@link wake} lets this caller through. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lets through as many waiting callers as there is room for, in order. */
  wake(room: number): void {
    // Woken callers enqueue in a later microtask, so wake only as many as there is room for.
    while (this.waiting.length > 0 && room-- > 0) this.waiting.shift()!();
  }

  /** Lets every waiting caller through (spilling takes everything; closed callers are dropped). */
  wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}
