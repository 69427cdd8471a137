/**
 * The spill: while a sink is down or the buffer is full, chained records go to a local file instead
 * of memory ({@link SpillFile}: one JSON line each, appended in fsync'd batches), within a disk
 * budget, and are replayed in order when the sinks recover ({@link Spill}).
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError, type Logger } from '@argus/platform';
import { recordId, type PendingRecord } from './buffer.ts';
import { serializedRecord } from './chain.ts';
import type { DropCounter } from './drops.ts';
import type { AuditMetrics } from './metrics.ts';
import type { ChainedRecord } from './types.ts';

const TAIL_CHUNK = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/** An append-only JSONL file with a replay cursor. Not safe for two writers: one per writer id. */
export class SpillFile {
  private handle: FileHandle | undefined;
  /** Bytes in the file. */
  size = 0;
  /** Byte offset of the next record to replay. */
  offset = 0;

  constructor(readonly path: string) {}

  /**
   * Opens (creating) the file; drops a torn last line left by a crash (it was never acknowledged,
   * since batches are acknowledged after fsync) and returns the last complete record, if any.
   */
  async open(): Promise<ChainedRecord | undefined> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a+');
    const { size } = await this.handle.stat();
    this.size = size;
    if (size === 0) return undefined;
    let chunk = Math.min(size, TAIL_CHUNK);
    for (;;) {
      const buf = Buffer.alloc(chunk);
      await this.handle.read(buf, 0, chunk, size - chunk);
      const text = buf.toString('utf8');
      const end = text.lastIndexOf('\n');
      if (end === -1 && chunk < size) {
        chunk = Math.min(size, chunk * 4);
        continue;
      }
      const completeSize = end === -1 ? 0 : size - chunk + end + 1;
      if (completeSize !== size) {
        await this.handle.truncate(completeSize);
        await this.handle.sync();
        this.size = completeSize;
      }
      if (completeSize === 0) return undefined;
      const body = text.slice(0, end);
      const start = body.lastIndexOf('\n');
      if (start === -1 && chunk < size) {
        chunk = Math.min(size, chunk * 4);
        continue;
      }
      return JSON.parse(body.slice(start + 1)) as ChainedRecord;
    }
  }

  /** Bytes written but not replayed yet. */
  backlogBytes(): number {
    return this.size - this.offset;
  }

  /** Appends records and fsyncs; they are durable when this resolves. */
  async append(records: readonly ChainedRecord[]): Promise<void> {
    const h = this.requireOpen();
    const text = records.map((r) => serializedRecord(r)).join('\n') + '\n';
    const buf = Buffer.from(text, 'utf8');
    await h.appendFile(buf);
    await h.sync();
    this.size += buf.length;
  }

  /** Bytes the given records take once appended. */
  static sizeOf(records: readonly ChainedRecord[]): number {
    let n = 0;
    for (const r of records) n += Buffer.byteLength(serializedRecord(r)) + 1;
    return n;
  }

  /** Reads up to `max` records from the replay cursor without moving it; returns the offset after them. */
  async peek(max: number): Promise<{ records: ChainedRecord[]; next: number }> {
    const h = this.requireOpen();
    const records: ChainedRecord[] = [];
    let pos = this.offset;
    let chunk = READ_CHUNK;
    while (records.length < max && pos < this.size) {
      const len = Math.min(chunk, this.size - pos);
      const buf = Buffer.alloc(len);
      await h.read(buf, 0, len, pos);
      let lineStart = 0;
      let consumed = false;
      for (let i = 0; i < len && records.length < max; i++) {
        if (buf[i] !== 0x0a) continue;
        const line = buf.subarray(lineStart, i).toString('utf8');
        if (line.trim() !== '') records.push(JSON.parse(line) as ChainedRecord);
        lineStart = i + 1;
        consumed = true;
      }
      if (!consumed) {
        chunk *= 4;
        continue;
      }
      pos += lineStart;
    }
    return { records, next: pos };
  }

  /** Empties the file once everything in it has been replayed. */
  async reset(): Promise<void> {
    const h = this.requireOpen();
    await h.truncate(0);
    await h.sync();
    this.size = 0;
    this.offset = 0;
  }

  /** Closes the file (its content stays for the next start). */
  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  private requireOpen(): FileHandle {
    if (!this.handle) throw new Error('spill file is not open');
    return this.handle;
  }
}

/** Collaborators of the spill. */
export interface SpillDeps {
  logger: Logger;
  metrics: Pick<AuditMetrics, 'spilled' | 'replayed' | 'spillBacklog'>;
  /** Counts the records the disk budget or a failed write leaves out. */
  drops: DropCounter;
}

/**
 * The pipeline's spill: whether records go through the file, the records waiting to be appended
 * (the next fsync'd batch), the disk budget and the replay.
 *
 * INVARIANT: while {@link active}, every new record goes through the file, so the file (then the
 * pending records) holds the chain's order; it is left only once everything in it was replayed.
 */
export class Spill {
  private on = false;
  private pending: PendingRecord[] = [];
  private pendingBytes = 0;
  private appended = 0;
  private replayedCount = 0;

  constructor(
    readonly file: SpillFile,
    private readonly maxBytes: number,
    private readonly deps: SpillDeps,
  ) {}

  /**
   * Opens the file and returns its last record, if any; a file left with records by the previous
   * run makes the spill active (they are replayed first).
   */
  async open(): Promise<ChainedRecord | undefined> {
    const tail = await this.file.open();
    if (this.file.size > 0) this.on = true;
    return tail;
  }

  /** True while records go through the file. */
  get active(): boolean {
    return this.on;
  }

  /** Routes records through the file from now on. */
  start(): void {
    this.on = true;
  }

  /** True when records wait to be appended. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** True when every record appended has been replayed. */
  get replayedAll(): boolean {
    return this.file.backlogBytes() === 0;
  }

  /** Records appended so far. */
  get spilled(): number {
    return this.appended;
  }

  /** Records replayed so far. */
  get replayed(): number {
    return this.replayedCount;
  }

  /** Bytes not replayed yet: in the file, and waiting to be appended. */
  backlogBytes(): number {
    return this.file.backlogBytes() + this.pendingBytes;
  }

  /** Queues records for the next append, after those already waiting. */
  add(items: readonly PendingRecord[]): void {
    this.pending.push(...items);
    for (const i of items) this.pendingBytes += SpillFile.sizeOf([i.rec]);
  }

  /** Queues records for the next append, before those already waiting (they are older). */
  addFirst(items: readonly PendingRecord[]): void {
    this.pending.unshift(...items);
    for (const i of items) this.pendingBytes += SpillFile.sizeOf([i.rec]);
  }

  /**
   * Appends the waiting records and fsyncs; their strict callers are answered. What the disk budget
   * cannot take is dropped (counted, strict callers told), keeping the order of what fits; a failed
   * write drops the whole batch the same way.
   */
  async appendPending(): Promise<void> {
    const { logger, metrics, drops } = this.deps;
    const items = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let keep = items;
    if (this.file.size + bytes > this.maxBytes) {
      keep = [];
      let size = this.file.size;
      for (const item of items) {
        const n = SpillFile.sizeOf([item.rec]);
        if (size + n <= this.maxBytes) {
          keep.push(item);
          size += n;
          continue;
        }
        if (item.done) item.done.reject(new UnavailableError('audit spill file is full; record not durable'));
        drops.drop('spill_full', recordId(item.rec));
      }
    }
    if (keep.length === 0) return;
    try {
      await this.file.append(keep.map((i) => i.rec));
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err), records: keep.length }, 'audit spill write failed');
      for (const i of keep) {
        if (i.done) i.done.reject(new UnavailableError('audit record could not be made durable', err));
        drops.drop('spill_failed', recordId(i.rec));
      }
      return;
    }
    this.appended += keep.length;
    metrics.spilled.inc(keep.length);
    metrics.spillBacklog.set(this.file.backlogBytes());
    for (const i of keep) i.done?.resolve();
  }

  /** The next records to replay (up to `max`), without moving the cursor; `next` moves it ({@link replayedUpTo}). */
  peek(max: number): Promise<{ records: ChainedRecord[]; next: number }> {
    return this.file.peek(max);
  }

  /** Moves the replay cursor past `count` records the sinks now hold. */
  replayedUpTo(next: number, count: number): void {
    this.file.offset = next;
    this.replayedCount += count;
    this.deps.metrics.replayed.inc(count);
    this.deps.metrics.spillBacklog.set(this.file.backlogBytes());
  }

  /**
   * Empties the file once everything was replayed. Leaves the spill (true) unless records arrived
   * meanwhile: those must go through the file first.
   */
  async finish(): Promise<boolean> {
    await this.file.reset();
    this.deps.metrics.spillBacklog.set(0);
    if (this.pending.length > 0) return false;
    this.on = false;
    return true;
  }

  /** Closes the file (what it holds stays for the next start). */
  close(): Promise<void> {
    return this.file.close();
  }
}
