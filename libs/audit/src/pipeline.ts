/**
 * The audit pipeline, the part of the writer that runs on the audit thread (or inline): chains every
 * record (canonical JSON, sha256), buffers it in bounded memory and writes batches to every sink.
 * When the buffer is full or a sink fails, records spill to a local fsync'd file and are replayed in
 * order on recovery. Drops happen only when configured, and are counted (`argus_audit_dropped_total`)
 * and logged. In strict mode (group commit) `record` resolves once the record is durable (every sink
 * committed it, or it is fsync'd in the spill file). Signed checkpoints are written every N records or
 * T ms, and the latest one that every sink holds is copied to the head file outside the sinks, so
 * that a truncated tail can be told from a short chain.
 */
import type { KeyObject } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Registry, UnavailableError, metric, silentLogger, type Logger } from '@argus/platform';
import { Chainer, loadPrivateKey, signCheckpoint } from './chain.ts';
import { parseAuditConfig, type AuditConfig, type AuditConfigInput } from './config.ts';
import type { UnchainedAuditRecord } from './record.ts';
import { SpillFile } from './spill.ts';
import type { AuditListener, AuditRecord, AuditSink, AuditSubscribe, ChainedRecord, ChainHead, CheckpointRecord } from './types.ts';

/** Collaborators of the pipeline. */
export interface PipelineDeps {
  sinks: AuditSink[];
  logger?: Logger;
  /** Prometheus registry the pipeline's metrics are registered in. */
  metrics?: Registry;
  clock?: () => Date;
  /** Ed25519 key of the checkpoints; default: the configured one, if any. */
  signingKey?: KeyObject;
  /** File the latest checkpoint held by every sink is copied to (atomically); none by default. */
  headFile?: string;
}

/** A snapshot of the writer's counters. */
export interface AuditTrailStats {
  writer: string;
  durability: 'async' | 'strict';
  /** Where canonicalization, hashing and the sinks run. */
  thread: 'worker' | 'inline';
  /** Records in memory waiting for the sinks (on the audit thread, and handed over but not yet taken). */
  queued: number;
  /** True while records go through the spill file (sink down or buffer full). */
  spilling: boolean;
  /** Spill bytes not yet replayed. */
  spillBacklogBytes: number;
  recorded: number;
  written: number;
  failedWrites: number;
  spilled: number;
  replayed: number;
  dropped: number;
  /** Drops by reason (`buffer_full`, `spill_full`, `spill_failed`, `closed`, `thread_failed`). */
  droppedBy: Record<string, number>;
  checkpoints: number;
  head: ChainHead;
  sinks: Array<{ name: string; committedSeq: number; healthy: boolean; written: number; failed: number }>;
}

interface Item {
  rec: ChainedRecord;
  done?: { resolve: () => void; reject: (err: unknown) => void };
}

interface SinkState {
  sink: AuditSink;
  committed: number;
  healthy: boolean;
  written: number;
  failed: number;
}

/** The writer's Prometheus metrics. */
export interface Metrics {
  queueDepth: Gauge;
  spillBacklog: Gauge;
  written: Counter;
  failed: Counter;
  spilled: Counter;
  replayed: Counter;
  dropped: Counter;
  checkpoints: Counter;
}

/** Registers (or finds) the writer's metrics in `registry`. */
export function makeMetrics(registry: Registry): Metrics {
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
 * Builds and starts a pipeline. Resumes the chain from the last record held by the sinks or the spill
 * file, and replays a spill file left by a previous run.
 */
export async function createPipeline(config: AuditConfig | AuditConfigInput, deps: PipelineDeps): Promise<Pipeline> {
  const cfg = Object.isFrozen(config) ? (config as AuditConfig) : parseAuditConfig(config);
  const pipeline = new Pipeline(cfg, deps);
  await pipeline.start();
  return pipeline;
}

/** Chain, buffer, sinks and spill of one writer. Not thread-shared. */
export class Pipeline implements AuditSubscribe {
  readonly writerId: string;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly m: Metrics;
  private readonly headFile: string | undefined;
  private readonly strict: boolean;
  private readonly sinks: SinkState[];
  private readonly spill: SpillFile;
  private readonly signingKey: KeyObject | undefined;
  private readonly listeners = new Set<AuditListener>();
  private chainer!: Chainer;

  private queue: Item[] = [];
  private spillPending: Item[] = [];
  private spillPendingBytes = 0;
  private spilling = false;
  private readonly blocked: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private again = false;
  private kickPending = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private backoffMs: number;
  private forceFlush = 0;
  private closing = false;
  private closed = false;
  private sinceCheckpoint = 0;
  private dropLog = { pending: 0, reason: '', timer: undefined as NodeJS.Timeout | undefined };
  private readonly counts = { recorded: 0, written: 0, failedWrites: 0, spilled: 0, replayed: 0, dropped: 0, checkpoints: 0 };
  private readonly droppedBy: Record<string, number> = {};
  private headWritten = 0;

  constructor(
    private readonly cfg: AuditConfig,
    deps: PipelineDeps,
  ) {
    this.writerId = cfg.writerId;
    this.logger = (deps.logger ?? silentLogger()).child({ component: 'audit', writer: cfg.writerId });
    this.clock = deps.clock ?? (() => new Date());
    this.m = makeMetrics(deps.metrics ?? new Registry());
    this.headFile = deps.headFile;
    this.strict = cfg.durability === 'strict';
    this.sinks = deps.sinks.map((sink) => ({ sink, committed: 0, healthy: true, written: 0, failed: 0 }));
    this.spill = new SpillFile(join(cfg.spill.dir, `${cfg.writerId}.spill.jsonl`));
    this.signingKey = deps.signingKey ?? (cfg.signing?.privateKey ? loadPrivateKey(cfg.signing.privateKey) : undefined);
    this.backoffMs = cfg.retry.initialBackoffMs;
  }

  async start(): Promise<void> {
    let head: ChainHead | undefined;
    for (const s of this.sinks) {
      const h = s.sink.head ? await s.sink.head(this.writerId) : undefined;
      s.committed = h?.seq ?? 0;
      if (h && (!head || h.seq > head.seq)) head = h;
    }
    const spilledTail = await this.spill.open();
    if (spilledTail && spilledTail.writer === this.writerId && (!head || spilledTail.seq > head.seq)) {
      head = { seq: spilledTail.seq, hash: spilledTail.hash };
    }
    this.chainer = new Chainer(this.writerId, head);
    if (this.spill.size > 0) {
      this.spilling = true;
      this.logger.info({ backlogBytes: this.spill.size }, 'replaying audit spill file left by the previous run');
      this.kick();
    }
    if (this.signingKey && this.cfg.signing) {
      this.checkpointTimer = setInterval(() => {
        if (this.sinceCheckpoint > 0 && !this.closed) this.checkpoint();
      }, this.cfg.signing.everyMs);
      this.checkpointTimer.unref();
    }
    this.logger.debug({ head: this.chainer.head().seq, sinks: this.sinks.map((s) => s.sink.name) }, 'audit trail started');
  }

  subscribe(listener: AuditListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Async mode: returns at once. Strict mode: resolves once the record is durable. */
  record(event: UnchainedAuditRecord): Promise<void> {
    if (this.closing) {
      if (this.strict) return Promise.reject(new UnavailableError('audit trail is closed'));
      this.drop('closed', event.decision_id);
      return Promise.resolve();
    }
    if (!this.strict && !this.spilling) {
      const full = this.queue.length >= this.cfg.buffer.maxRecords;
      if (this.cfg.buffer.onFull === 'block' && (full || this.blocked.length > 0)) return this.waitForRoom().then(() => this.accept(event));
      if (full && this.cfg.buffer.onFull === 'drop') {
        this.drop('buffer_full', event.decision_id);
        return Promise.resolve();
      }
    }
    return this.accept(event);
  }

  private accept(event: UnchainedAuditRecord): Promise<void> {
    if (this.closed) {
      if (this.strict) return Promise.reject(new UnavailableError('audit trail is closed'));
      this.drop('closed', event.decision_id);
      return Promise.resolve();
    }
    const rec = this.chainer.chain<AuditRecord>(event);
    this.counts.recorded++;
    this.emit(rec);
    const done = this.strict ? this.admitDurable(rec) : (this.admit({ rec }), Promise.resolve());
    this.sinceCheckpoint++;
    if (this.signingKey && this.sinceCheckpoint >= (this.cfg.signing?.everyRecords ?? Infinity)) this.checkpoint();
    return done;
  }

  flush(): Promise<void> {
    return this.drain();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.sinceCheckpoint > 0 && this.signingKey) this.checkpoint();
    this.closing = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    // One last attempt at the sinks, whatever the backoff says; whatever fails stays in the spill file.
    this.retryAt = 0;
    await this.drain();
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
    this.flushDropLog();
    for (const wake of this.blocked.splice(0)) wake();
    await this.spill.close();
    for (const s of this.sinks) {
      try {
        await s.sink.close();
      } catch (err) {
        this.logger.warn({ sink: s.sink.name, err: message(err) }, 'audit sink close failed');
      }
    }
  }

  stats(): AuditTrailStats {
    return {
      writer: this.writerId,
      durability: this.cfg.durability,
      thread: 'inline',
      queued: this.queue.length,
      spilling: this.spilling,
      spillBacklogBytes: this.spill.backlogBytes() + this.spillPendingBytes,
      ...this.counts,
      droppedBy: { ...this.droppedBy },
      head: this.chainer.head(),
      sinks: this.sinks.map((s) => ({
        name: s.sink.name,
        committedSeq: s.committed,
        healthy: s.healthy,
        written: s.written,
        failed: s.failed,
      })),
    };
  }

  // --- admission ----------------------------------------------------------------------------------

  private admitDurable(rec: ChainedRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => this.admit({ rec, done: { resolve, reject } }));
  }

  /** Puts a chained record on its way: the memory queue, or the spill file while spilling. */
  private admit(item: Item): void {
    if (!this.spilling && this.queue.length >= this.cfg.buffer.maxRecords) {
      // Only `spill` (or strict mode, or a checkpoint) gets here with a full buffer.
      this.startSpilling('buffer full');
    }
    if (this.spilling) this.toSpill([item]);
    else this.queue.push(item);
    this.m.queueDepth.set(this.queue.length);
    if (this.strict || this.spilling || this.queue.length >= this.cfg.buffer.batchSize) this.kickSoon();
    else this.scheduleFlush();
  }

  private toSpill(items: Item[]): void {
    this.spillPending.push(...items);
    for (const i of items) this.spillPendingBytes += SpillFile.sizeOf([i.rec]);
  }

  private startSpilling(reason: string): void {
    if (this.spilling) return;
    this.spilling = true;
    this.logger.warn({ reason, queued: this.queue.length }, 'audit records spilling to the local file');
    const moved = this.queue;
    this.queue = [];
    this.toSpill(moved);
    this.wakeBlocked();
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.blocked.push(resolve));
  }

  private wakeBlocked(): void {
    // Waiters enqueue in a later microtask, so wake only as many as there is room for.
    let room = this.closed || this.spilling ? this.blocked.length : this.cfg.buffer.maxRecords - this.queue.length;
    while (this.blocked.length > 0 && room-- > 0) this.blocked.shift()!();
  }

  private checkpoint(): void {
    if (!this.signingKey) return;
    const head = this.chainer.head();
    if (head.seq === 0) return;
    const rec = this.chainer.chain(signCheckpoint(this.writerId, head, this.signingKey, this.clock()));
    this.sinceCheckpoint = 0;
    this.counts.checkpoints++;
    this.m.checkpoints.inc();
    this.emit(rec);
    this.admit({ rec });
  }

  private emit(rec: ChainedRecord): void {
    for (const l of this.listeners) {
      try {
        l(rec);
      } catch (err) {
        this.logger.warn({ err: message(err) }, 'audit listener failed');
      }
    }
  }

  private drop(reason: string, decisionId: string): void {
    this.counts.dropped++;
    this.droppedBy[reason] = (this.droppedBy[reason] ?? 0) + 1;
    this.m.dropped.inc({ reason });
    const log = this.dropLog;
    if (!log.timer) {
      this.logger.warn({ reason, decisionId, dropped: 1, droppedTotal: this.counts.dropped }, 'audit record dropped');
      log.timer = setTimeout(() => this.flushDropLog(), 1000);
      log.timer.unref();
    } else {
      log.pending++;
      log.reason = reason;
    }
  }

  private flushDropLog(): void {
    const log = this.dropLog;
    clearTimeout(log.timer);
    log.timer = undefined;
    if (log.pending > 0)
      this.logger.warn({ reason: log.reason, dropped: log.pending, droppedTotal: this.counts.dropped }, 'audit records dropped');
    log.pending = 0;
  }

  // --- the pump -----------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.forceFlush++;
      this.kick().finally(() => this.forceFlush--);
    }, this.cfg.buffer.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Starts the pump after the caller's turn: a batch is never written inside `record()`. */
  private kickSoon(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.kick();
    });
  }

  private kick(): Promise<void> {
    if (this.loop) {
      this.again = true;
      return this.loop;
    }
    this.loop = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.pump();
          } catch (err) {
            // A fault outside the sinks (the spill file unreadable): back off and try again later.
            this.logger.error({ err: message(err) }, 'audit writer fault');
            this.backOff();
            this.scheduleRetry();
            return;
          }
        } while (this.again);
      } finally {
        this.loop = undefined;
      }
    })();
    return this.loop;
  }

  /** Drives everything pending as far as it can go now. */
  private async drain(): Promise<void> {
    this.forceFlush++;
    try {
      for (let i = 0; i < 1_000_000; i++) {
        await this.kick();
        const idle = this.spillPending.length === 0 && this.queue.length === 0 && (!this.spilling || this.spill.backlogBytes() === 0);
        if (idle || this.waitingForRetry()) return;
      }
    } finally {
      this.forceFlush--;
    }
  }

  private waitingForRetry(): boolean {
    return Date.now() < this.retryAt && (!this.spilling || this.spillPending.length === 0);
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.spillPending.length > 0) await this.appendSpill();
      if (this.spilling) {
        if (this.spill.backlogBytes() === 0) {
          if (this.spillPending.length > 0) continue;
          await this.spill.reset();
          this.m.spillBacklog.set(0);
          if (this.spillPending.length > 0) continue;
          this.spilling = false;
          this.backoffMs = this.cfg.retry.initialBackoffMs;
          this.logger.info({ replayed: this.counts.replayed }, 'audit spill replayed; writing from memory again');
          this.wakeBlocked();
          continue;
        }
        if (Date.now() < this.retryAt) {
          this.scheduleRetry();
          return;
        }
        const { records, next } = await this.spill.peek(this.cfg.buffer.batchSize);
        if (await this.writeToSinks(records)) {
          this.spill.offset = next;
          this.counts.replayed += records.length;
          this.m.replayed.inc(records.length);
          this.m.spillBacklog.set(this.spill.backlogBytes());
        } else {
          this.backOff();
        }
        continue;
      }
      if (this.queue.length === 0) return;
      if (!this.strict && this.forceFlush === 0 && this.queue.length < this.cfg.buffer.batchSize) {
        this.scheduleFlush();
        return;
      }
      if (Date.now() < this.retryAt) {
        this.scheduleRetry();
        return;
      }
      const batch = this.queue.splice(0, this.cfg.buffer.batchSize);
      this.m.queueDepth.set(this.queue.length);
      if (await this.writeToSinks(batch.map((i) => i.rec))) {
        for (const i of batch) i.done?.resolve();
        this.wakeBlocked();
        continue;
      }
      this.backOff();
      if (this.strict || this.cfg.buffer.onFull === 'spill' || this.closing) {
        // INVARIANT: the failed batch is older than anything queued or pending, so it goes first.
        const rest = this.queue;
        this.queue = [];
        this.spilling = true;
        this.logger.warn({ records: batch.length + rest.length }, 'audit sink down; spilling to the local file');
        const pending = this.spillPending;
        this.spillPending = [];
        this.spillPendingBytes = 0;
        this.toSpill([...batch, ...rest, ...pending]);
        this.wakeBlocked();
      } else {
        this.queue.unshift(...batch);
        this.m.queueDepth.set(this.queue.length);
        this.scheduleRetry();
        return;
      }
    }
  }

  private async appendSpill(): Promise<void> {
    const items = this.spillPending;
    const bytes = this.spillPendingBytes;
    this.spillPending = [];
    this.spillPendingBytes = 0;
    let keep = items;
    if (this.spill.size + bytes > this.cfg.spill.maxBytes) {
      // The disk budget is spent: keep what fits, in order; the rest is dropped (strict callers are told).
      keep = [];
      let size = this.spill.size;
      for (const item of items) {
        const n = SpillFile.sizeOf([item.rec]);
        if (size + n <= this.cfg.spill.maxBytes) {
          keep.push(item);
          size += n;
          continue;
        }
        if (item.done) item.done.reject(new UnavailableError('audit spill file is full; record not durable'));
        this.drop('spill_full', item.rec.kind === 'decision' ? item.rec.decision_id : `checkpoint:${item.rec.seq}`);
      }
    }
    if (keep.length === 0) return;
    try {
      await this.spill.append(keep.map((i) => i.rec));
    } catch (err) {
      this.logger.error({ err: message(err), records: keep.length }, 'audit spill write failed');
      for (const i of keep) {
        if (i.done) i.done.reject(new UnavailableError('audit record could not be made durable', err));
        this.drop('spill_failed', i.rec.kind === 'decision' ? i.rec.decision_id : `checkpoint:${i.rec.seq}`);
      }
      return;
    }
    this.counts.spilled += keep.length;
    this.m.spilled.inc(keep.length);
    this.m.spillBacklog.set(this.spill.backlogBytes());
    for (const i of keep) i.done?.resolve();
  }

  /** Writes a batch to every sink that does not hold it yet. True when every sink has it. */
  private async writeToSinks(records: readonly ChainedRecord[]): Promise<boolean> {
    if (records.length === 0) return true;
    const results = await Promise.all(
      this.sinks.map(async (s) => {
        const fresh = records.filter((r) => r.writer === this.writerId && r.seq > s.committed);
        if (fresh.length === 0) return true;
        try {
          await s.sink.write(fresh);
          s.committed = fresh[fresh.length - 1]!.seq;
          this.counts.written += fresh.length;
          s.written += fresh.length;
          this.m.written.inc({ sink: s.sink.name }, fresh.length);
          if (!s.healthy) this.logger.info({ sink: s.sink.name }, 'audit sink recovered');
          s.healthy = true;
          return true;
        } catch (err) {
          this.counts.failedWrites++;
          s.failed++;
          this.m.failed.inc({ sink: s.sink.name });
          if (s.healthy) this.logger.error({ sink: s.sink.name, err: message(err) }, 'audit sink write failed');
          s.healthy = false;
          return false;
        }
      }),
    );
    const ok = results.every(Boolean);
    if (ok) {
      this.backoffMs = this.cfg.retry.initialBackoffMs;
      this.writeHead(records);
    }
    return ok;
  }

  /** Copies the latest checkpoint of the batch (now held by every sink) to the head file. */
  private writeHead(records: readonly ChainedRecord[]): void {
    if (!this.headFile) return;
    let last: CheckpointRecord | undefined;
    for (const r of records) if (r.kind === 'checkpoint' && r.writer === this.writerId && r.seq > this.headWritten) last = r;
    if (!last) return;
    try {
      // Write then rename: a reader never sees half a file, and a crash leaves the previous head.
      const tmp = `${this.headFile}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(last)}\n`, { mode: 0o644 });
      renameSync(tmp, this.headFile);
      this.headWritten = last.seq;
    } catch (err) {
      this.logger.warn({ err: message(err) }, 'audit head file not written');
    }
  }

  private backOff(): void {
    this.retryAt = Date.now() + this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.cfg.retry.maxBackoffMs);
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void this.kick();
      },
      Math.max(0, this.retryAt - Date.now()),
    );
    this.retryTimer.unref();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
