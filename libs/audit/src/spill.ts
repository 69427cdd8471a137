/**
 * The local spill file: chained records the sinks could not take yet, one JSON line each, appended
 * in fsync'd batches and replayed in order when the sinks recover.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { serializedRecord } from './chain.ts';
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
