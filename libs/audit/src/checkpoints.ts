/**
 * When the pipeline signs its chain head ({@link CheckpointSchedule}: every N records, every T ms,
 * and on close) and where the latest checkpoint every sink holds is copied ({@link HeadFile}), so
 * that a cut tail can be told from a short chain. The signing itself is `signCheckpoint` (chain.ts).
 */
import type { KeyObject } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import type { Counter, Logger } from '@argus/platform';
import { signCheckpoint } from './chain.ts';
import type { AuditConfig } from './config.ts';
import type { SinkFanout } from './sinks/fanout.ts';
import type { ChainedRecord, ChainHead, CheckpointRecord } from './types.ts';

/** An unchained checkpoint, ready for the chainer. */
export type UnchainedCheckpoint = ReturnType<typeof signCheckpoint>;

/** Counts records since the last checkpoint and signs the head when one is due. Without a key it never signs. */
export class CheckpointSchedule {
  private since = 0;
  private signed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly writerId: string,
    private readonly key: KeyObject | undefined,
    private readonly every: Pick<NonNullable<AuditConfig['signing']>, 'everyRecords' | 'everyMs'> | undefined,
    private readonly clock: () => Date,
    private readonly metric: Counter,
  ) {}

  /** Checkpoints signed so far. */
  get count(): number {
    return this.signed;
  }

  /** True when records were chained since the last checkpoint and a key can sign them. */
  get due(): boolean {
    return this.since > 0 && this.key !== undefined;
  }

  /** Counts one record; true when it makes a checkpoint due by count (`everyRecords`). */
  recorded(): boolean {
    this.since++;
    return this.key !== undefined && this.since >= (this.every?.everyRecords ?? Infinity);
  }

  /** Calls `sign` every `everyMs` while records were chained since the last checkpoint. No-op without a key. */
  start(sign: () => void): void {
    if (!this.key || !this.every) return;
    this.timer = setInterval(() => {
      if (this.since > 0) sign();
    }, this.every.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Signs `head` (and `prunedBefore`, the retention's cut, when given) and restarts the count;
   * undefined without a key or before the first record.
   */
  sign(head: ChainHead, prunedBefore?: number): UnchainedCheckpoint | undefined {
    if (!this.key || head.seq === 0) return undefined;
    const checkpoint = signCheckpoint(this.writerId, head, this.key, this.clock(), prunedBefore);
    this.since = 0;
    this.signed++;
    this.metric.inc();
    return checkpoint;
  }
}

/** How often the retention looks for a new cut (a scan of the records before the cutoff). */
const RETENTION_LOOK_MS = 60_000;

/**
 * Where the retention period cuts this writer's chain: the newest checkpoint a pruning sink holds
 * that was signed at least `maxAge` ago (`SinkFanout.retainFrom`). Every checkpoint then carries
 * the cut, signed (`prunedBefore`), and a sink deletes the records below it once it holds such a
 * checkpoint: so the cut is always at a checkpoint (whose own `prevHash` its signature covers), it
 * never moves back, and records are deleted only on the writer's signed word, which
 * `verifyChain` then accepts. The cut is derived from the records' signed times, not from what is
 * missing, so records deleted by anyone else are still reported missing.
 */
export class Retention {
  private cut: number | undefined;
  private lookedAt = -Infinity;

  constructor(
    private readonly maxAgeMs: number,
    private readonly clock: () => Date,
  ) {}

  /** The cut to sign now, looked up at most once a minute; undefined until there is one. */
  prunedBefore(sinks: Pick<SinkFanout, 'retainFrom'>): number | undefined {
    const now = this.clock().getTime();
    if (now - this.lookedAt >= RETENTION_LOOK_MS || now < this.lookedAt) {
      this.lookedAt = now;
      const seq = sinks.retainFrom(new Date(now - this.maxAgeMs).toISOString());
      if (seq !== undefined && seq > (this.cut ?? 0)) this.cut = seq;
    }
    return this.cut;
  }
}

/**
 * The signed head kept outside the sinks (`audit-head.json`): the latest checkpoint of this writer
 * that every sink holds, replaced atomically. Without a path it does nothing.
 *
 * The file is written off the thread (one write at a time, the newest checkpoint waiting wins): a
 * write and rename in place took ~1.5 ms of the audit thread per checkpoint (ext4 starts writing
 * the new file back when it replaces another), and the batch's callers waited for it. The file may
 * so trail the sinks by the checkpoint being written: a crash then leaves the one before, which
 * still bounds the chain from below (a cut tail behind it fails verification), as a crash just
 * before a synchronous write did.
 */
export class HeadFile {
  /** Seq of the newest checkpoint handed to the file (written or being written). */
  private queuedSeq = 0;
  /** The checkpoint to write once the write in flight ends. */
  private next: CheckpointRecord | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly writerId: string,
    private readonly logger: Logger,
  ) {}

  /** Copies the latest checkpoint of `records` (a batch every sink now holds), if newer than the file's. */
  update(records: readonly ChainedRecord[]): void {
    if (!this.path) return;
    let last: CheckpointRecord | undefined;
    for (const r of records) if (r.kind === 'checkpoint' && r.writer === this.writerId && r.seq > this.queuedSeq) last = r;
    if (!last) return;
    this.queuedSeq = last.seq;
    this.next = last;
    this.writing ??= this.writeAll(this.path);
  }

  /** Resolves once every checkpoint handed over is in the file (or its write failed and was logged). */
  async settled(): Promise<void> {
    await this.writing;
  }

  private async writeAll(path: string): Promise<void> {
    for (let head = this.next; head; head = this.next) {
      this.next = undefined;
      try {
        // Write then rename: a reader never sees half a file, and a crash leaves the previous head.
        const tmp = `${path}.tmp`;
        await writeFile(tmp, `${JSON.stringify(head)}\n`, { mode: 0o644 });
        await rename(tmp, path);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit head file not written');
      }
    }
    this.writing = undefined;
  }
}
