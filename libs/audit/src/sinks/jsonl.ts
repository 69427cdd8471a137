/**
 * Rotating JSONL file sink: one record per line, rotated by size (`audit.jsonl` → `audit.jsonl.1`
 * → … → `audit.jsonl.N`, the oldest deleted). Suited to a SIEM forwarder tailing the file.
 */
import { mkdirSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { serializedRecord } from '../chain.ts';
import type { AuditSink, ChainedRecord, ChainHead } from '../types.ts';

/** Options of the JSONL sink. */
export interface JsonlSinkOptions {
  path: string;
  /** Rotate before the file would exceed this size. Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept. Default 10. */
  maxFiles?: number;
  /** fsync after every batch. Default false. */
  fsync?: boolean;
}

/** Creates the rotating JSONL sink. */
export function createJsonlSink(options: JsonlSinkOptions): AuditSink {
  return new JsonlSink(options);
}

class JsonlSink implements AuditSink {
  readonly name = 'jsonl';
  private handle: FileHandle | undefined;
  private size = 0;
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  constructor(private readonly options: JsonlSinkOptions) {
    this.maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
    this.maxFiles = options.maxFiles ?? 10;
    mkdirSync(dirname(options.path), { recursive: true });
  }

  private async file(): Promise<FileHandle> {
    if (!this.handle) {
      this.handle = await open(this.options.path, 'a');
      this.size = (await this.handle.stat()).size;
    }
    return this.handle;
  }

  async write(records: readonly ChainedRecord[]): Promise<void> {
    const buf = Buffer.from(records.map((r) => serializedRecord(r)).join('\n') + '\n', 'utf8');
    let h = await this.file();
    if (this.size > 0 && this.size + buf.length > this.maxBytes) {
      await this.rotate();
      h = await this.file();
    }
    await h.appendFile(buf);
    this.size += buf.length;
    if (this.options.fsync) await h.sync();
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const p = this.options.path;
    await rm(`${p}.${this.maxFiles}`, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      await rename(`${p}.${i}`, `${p}.${i + 1}`).catch(() => undefined);
    }
    await rename(p, `${p}.1`);
  }

  async head(writer: string): Promise<ChainHead | undefined> {
    for (const path of [this.options.path, `${this.options.path}.1`]) {
      const last = await lastRecordOf(path, writer);
      if (last) return last;
    }
    return undefined;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      if (this.options.fsync) await h.sync();
      await h.close();
    }
  }
}

/** The last record of `writer` in a JSONL file (reads the file's tail, growing until it finds one). */
async function lastRecordOf(path: string, writer: string): Promise<ChainHead | undefined> {
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size <= 0) return undefined;
  const h = await open(path, 'r');
  try {
    let chunk = Math.min(size, 64 * 1024);
    for (;;) {
      const buf = Buffer.alloc(chunk);
      await h.read(buf, 0, chunk, size - chunk);
      const lines = buf.toString('utf8').split('\n');
      if (chunk < size) lines.shift();
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i]!.trim();
        if (line === '') continue;
        try {
          const r = JSON.parse(line) as ChainedRecord;
          if (r.writer === writer) return { seq: r.seq, hash: r.hash };
        } catch {
          // a torn line: skip it
        }
      }
      if (chunk >= size) return undefined;
      chunk = Math.min(size, chunk * 4);
    }
  } finally {
    await h.close();
  }
}
