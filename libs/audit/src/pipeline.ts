/**
 * The audit pipeline, the part of the writer that runs on the audit thread (or inline). It composes
 * one module per concern, in the order a record goes through them:
 *
 * 1. the chain (`chain.ts`, `checkpoints.ts`): sequence and hash, signed checkpoints every N records
 *    or T ms, the signed head file;
 * 2. the buffer (`buffer.ts`, `drops.ts`): bounded memory, batches, the `onFull` policy, drops
 *    counted and logged;
 * 3. the sinks (`sinks/fanout.ts`): every batch to every sink;
 * 4. the spill (`spill.ts`): while a sink is down or the buffer is full, records go to a local
 *    fsync'd file and are replayed in order on recovery;
 * 5. the pump (`pump.ts`): one run at a time, flush and retry timers, backoff.
 *
 * In strict mode (group commit) `record` resolves once the record is durable (every sink committed
 * it, or it is fsync'd in the spill file).
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Registry, UnavailableError, silentLogger, type Logger } from '@argus/platform';
import { BackPressure, RecordBuffer, type PendingRecord } from './buffer.ts';
import { Chainer, loadPrivateKey } from './chain.ts';
import { CheckpointSchedule, HeadFile, Retention } from './checkpoints.ts';
import { parseAuditConfig, retentionMs, waitsForCommit, type AuditConfig, type AuditConfigInput } from './config.ts';
import { DropCounter } from './drops.ts';
import { LiveFeed } from './live-feed.ts';
import { auditMetrics, type AuditMetrics } from './metrics.ts';
import { Backoff, Pump } from './pump.ts';
import type { UnchainedAuditRecord } from './record.ts';
import { SinkFanout } from './sinks/fanout.ts';
import { Spill, SpillFile } from './spill.ts';
import type { AuditListener, AuditRecord, AuditSink, AuditSubscribe, AuditTrailStats, ChainedRecord } from './types.ts';

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

/** The parts a pipeline is composed of, built and opened by {@link createPipeline}. */
export interface PipelineParts {
  logger: Logger;
  metrics: AuditMetrics;
  chainer: Chainer;
  checkpoints: CheckpointSchedule;
  /** The retention period's cut (`audit.retention.maxAge`); absent: every record is kept. */
  retention?: Retention;
  headFile: HeadFile;
  sinks: SinkFanout;
  spill: Spill;
  drops: DropCounter;
}

/**
 * Builds and starts a pipeline. Resumes the chain from the last record held by the sinks or the spill
 * file, and replays a spill file left by a previous run.
 */
export async function createPipeline(config: AuditConfig | AuditConfigInput, deps: PipelineDeps): Promise<Pipeline> {
  const cfg = Object.isFrozen(config) ? (config as AuditConfig) : parseAuditConfig(config);
  const writerId = cfg.writerId;
  const logger = (deps.logger ?? silentLogger()).child({ component: 'audit', writer: writerId });
  const metrics = auditMetrics(deps.metrics ?? new Registry());
  const key = deps.signingKey ?? (cfg.signing?.privateKey ? loadPrivateKey(cfg.signing.privateKey) : undefined);
  const clock = deps.clock ?? (() => new Date());
  const maxAge = retentionMs(cfg);
  const drops = new DropCounter(logger, metrics.dropped);
  const sinks = new SinkFanout(deps.sinks, writerId, logger, metrics);
  const spill = new Spill(new SpillFile(join(cfg.spill.dir, `${writerId}.spill.jsonl`)), cfg.spill.maxBytes, { logger, metrics, drops });

  // Resume after the furthest record: in a sink, or in the spill file (not yet in any sink).
  let head = await sinks.resume();
  const spilledTail = await spill.open();
  if (spilledTail && spilledTail.writer === writerId && (!head || spilledTail.seq > head.seq)) {
    head = { seq: spilledTail.seq, hash: spilledTail.hash };
  }
  const pipeline = new Pipeline(cfg, {
    logger,
    metrics,
    chainer: new Chainer(writerId, head),
    checkpoints: new CheckpointSchedule(writerId, key, cfg.signing, clock, metrics.checkpoints),
    ...(maxAge !== undefined ? { retention: new Retention(maxAge, clock) } : {}),
    headFile: new HeadFile(deps.headFile, writerId, logger),
    sinks,
    spill,
    drops,
  });
  pipeline.start();
  return pipeline;
}

/** Chain, buffer, sinks and spill of one writer. Not thread-shared. */
export class Pipeline implements AuditSubscribe {
  readonly writerId: string;
  private readonly strict: boolean;
  private readonly logger: Logger;
  private readonly metrics: AuditMetrics;
  private readonly chainer: Chainer;
  private readonly checkpoints: CheckpointSchedule;
  private readonly retention: Retention | undefined;
  private readonly headFile: HeadFile;
  private readonly buffer: RecordBuffer;
  private readonly gate: BackPressure;
  private readonly drops: DropCounter;
  private readonly sinks: SinkFanout;
  private readonly spill: Spill;
  private readonly backoff: Backoff;
  private readonly pump: Pump;
  private readonly feed: LiveFeed;
  /** `closing`: no new record is taken, what is pending is being written; `closed`: done. */
  private state: 'open' | 'closing' | 'closed' = 'open';
  private recorded = 0;

  constructor(
    private readonly cfg: AuditConfig,
    parts: PipelineParts,
  ) {
    this.writerId = cfg.writerId;
    this.strict = waitsForCommit(cfg.durability);
    this.logger = parts.logger;
    this.metrics = parts.metrics;
    this.chainer = parts.chainer;
    this.checkpoints = parts.checkpoints;
    this.retention = parts.retention;
    this.headFile = parts.headFile;
    this.drops = parts.drops;
    this.sinks = parts.sinks;
    this.spill = parts.spill;
    this.buffer = new RecordBuffer(cfg.buffer);
    this.gate = new BackPressure(cfg.buffer.onFull);
    this.backoff = new Backoff(cfg.retry);
    this.pump = new Pump(
      () => this.step(),
      (err) => this.onFault(err),
      cfg.buffer.flushIntervalMs,
    );
    this.feed = new LiveFeed(this.logger);
  }

  /** Starts the replay of a spill file left by the previous run, and the checkpoint timer. */
  start(): void {
    if (this.spill.active) {
      this.logger.info({ backlogBytes: this.spill.file.size }, 'replaying audit spill file left by the previous run');
      void this.pump.kick();
    }
    this.checkpoints.start(() => {
      if (this.state !== 'closed') this.checkpoint();
    });
    this.logger.debug({ head: this.chainer.head().seq, sinks: this.sinks.names() }, 'audit trail started');
  }

  subscribe(listener: AuditListener): () => void {
    return this.feed.subscribe(listener);
  }

  /** Async mode: returns at once. Strict mode: resolves once the record is durable. */
  record(event: UnchainedAuditRecord): Promise<void> {
    if (this.state !== 'open') return this.refuse(event);
    if (!this.strict && !this.spill.active) {
      switch (this.gate.admit(this.buffer.full)) {
        case 'wait':
          return this.gate.wait().then(() => this.accept(event));
        case 'drop':
          this.drops.drop('buffer_full', event.decision_id);
          return Promise.resolve();
        case 'accept':
          break;
      }
    }
    return this.accept(event);
  }

  /** Resolves once everything recorded so far is in the sinks, or durable in the spill file if a sink is down. */
  async flush(): Promise<void> {
    await this.drain();
    await this.headFile.settled();
  }

  /** Signs a final checkpoint, writes everything it can, closes the spill file and the sinks. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.checkpoints.due) this.checkpoint();
    this.state = 'closing';
    this.checkpoints.stop();
    // One last attempt at the sinks, whatever the backoff says; whatever fails stays in the spill file.
    this.backoff.clear();
    await this.drain();
    await this.headFile.settled();
    this.state = 'closed';
    this.pump.stop();
    this.drops.flushLog();
    this.gate.wakeAll();
    await this.spill.close();
    await this.sinks.close();
  }

  stats(): AuditTrailStats {
    return {
      writer: this.writerId,
      durability: this.cfg.durability,
      thread: 'inline',
      queued: this.buffer.length,
      spilling: this.spill.active,
      spillBacklogBytes: this.spill.backlogBytes(),
      recorded: this.recorded,
      written: this.sinks.written,
      failedWrites: this.sinks.failedWrites,
      spilled: this.spill.spilled,
      replayed: this.spill.replayed,
      dropped: this.drops.total,
      checkpoints: this.checkpoints.count,
      droppedBy: this.drops.snapshot(),
      head: this.chainer.head(),
      sinks: this.sinks.stats(),
    };
  }

  // --- admission ----------------------------------------------------------------------------------

  /** A record after close: refused to a strict caller, counted as dropped otherwise. */
  private refuse(event: UnchainedAuditRecord): Promise<void> {
    if (this.strict) return Promise.reject(new UnavailableError('audit trail is closed'));
    this.drops.drop('closed', event.decision_id);
    return Promise.resolve();
  }

  /** Chains the record and puts it on its way; in strict mode the promise waits for durability. */
  private accept(event: UnchainedAuditRecord): Promise<void> {
    if (this.state === 'closed') return this.refuse(event);
    const rec = this.chainer.chain<AuditRecord>(event);
    this.recorded++;
    this.feed.emit(rec);
    const done = this.strict
      ? new Promise<void>((resolve, reject) => this.admit({ rec, done: { resolve, reject } }))
      : (this.admit({ rec }), Promise.resolve());
    if (this.checkpoints.recorded()) this.checkpoint();
    return done;
  }

  /** Puts a chained record on its way: the memory buffer, or the spill file while spilling. */
  private admit(item: PendingRecord): void {
    if (!this.spill.active && this.buffer.full) {
      // Only `spill` (or strict mode, or a checkpoint) gets here with a full buffer.
      this.startSpilling('buffer full');
    }
    if (this.spill.active) this.spill.add([item]);
    else this.buffer.push(item);
    this.metrics.queueDepth.set(this.buffer.length);
    if (this.strict || this.spill.active || this.buffer.hasBatch) this.pump.kickSoon();
    else this.pump.scheduleFlush();
  }

  /** Sends the buffer, then every new record, through the spill file. */
  private startSpilling(reason: string): void {
    if (this.spill.active) return;
    this.spill.start();
    this.logger.warn({ reason, queued: this.buffer.length }, 'audit records spilling to the local file');
    this.spill.add(this.buffer.takeAll());
    this.wakeBlocked();
  }

  private wakeBlocked(): void {
    if (this.state === 'closed' || this.spill.active) this.gate.wakeAll();
    else this.gate.wake(this.buffer.room());
  }

  private checkpoint(): void {
    const checkpoint = this.checkpoints.sign(this.chainer.head(), this.retention?.prunedBefore(this.sinks));
    if (!checkpoint) return;
    const rec = this.chainer.chain(checkpoint);
    this.feed.emit(rec);
    this.admit({ rec });
  }

  // --- the pump -----------------------------------------------------------------------------------

  /** Drives everything pending as far as it can go now. */
  private drain(): Promise<void> {
    return this.pump.forcing(async () => {
      for (let i = 0; i < 1_000_000; i++) {
        await this.pump.kick();
        const idle = !this.spill.hasPending && this.buffer.length === 0 && (!this.spill.active || this.spill.replayedAll);
        if (idle || this.waitingForRetry()) return;
      }
    });
  }

  private waitingForRetry(): boolean {
    return this.backoff.waiting() && (!this.spill.active || !this.spill.hasPending);
  }

  /** A fault outside the sinks (the spill file unreadable): back off and try again later. */
  private onFault(err: unknown): void {
    this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'audit writer fault');
    this.backoff.failed();
    this.pump.scheduleRetry(this.backoff.retryAt);
  }

  /** One run of the pump: moves records until nothing can move now. */
  private async step(): Promise<void> {
    for (;;) {
      if (this.spill.hasPending) await this.spill.appendPending();
      if (this.spill.active) {
        if (await this.replayStep()) continue;
        return;
      }
      if (this.buffer.length === 0) return;
      if (!this.strict && !this.pump.forced && !this.buffer.hasBatch) {
        this.pump.scheduleFlush();
        return;
      }
      if (this.backoff.waiting()) {
        this.pump.scheduleRetry(this.backoff.retryAt);
        return;
      }
      const batch = this.buffer.takeBatch();
      this.metrics.queueDepth.set(this.buffer.length);
      if (await this.write(batch.map((i) => i.rec))) {
        for (const i of batch) i.done?.resolve();
        this.wakeBlocked();
        continue;
      }
      this.backoff.failed();
      if (this.strict || this.cfg.buffer.onFull === 'spill' || this.state !== 'open') {
        // INVARIANT: the failed batch is older than anything buffered or pending, so it goes first.
        const rest = this.buffer.takeAll();
        this.spill.start();
        this.logger.warn({ records: batch.length + rest.length }, 'audit sink down; spilling to the local file');
        this.spill.addFirst([...batch, ...rest]);
        this.wakeBlocked();
      } else {
        this.buffer.putBack(batch);
        this.metrics.queueDepth.set(this.buffer.length);
        this.pump.scheduleRetry(this.backoff.retryAt);
        return;
      }
    }
  }

  /** One move of the replay: a batch from the spill file to the sinks, or leaving the spill. False when it must wait. */
  private async replayStep(): Promise<boolean> {
    if (this.spill.replayedAll) {
      if (this.spill.hasPending) return true;
      if (!(await this.spill.finish())) return true;
      this.backoff.reset();
      this.logger.info({ replayed: this.spill.replayed }, 'audit spill replayed; writing from memory again');
      this.wakeBlocked();
      return true;
    }
    if (this.backoff.waiting()) {
      this.pump.scheduleRetry(this.backoff.retryAt);
      return false;
    }
    const { records, next } = await this.spill.peek(this.cfg.buffer.batchSize);
    if (await this.write(records)) this.spill.replayedUpTo(next, records.length);
    else this.backoff.failed();
    return true;
  }

  /** Writes a batch to every sink; once all hold it, the backoff restarts and the head file follows. */
  private async write(records: readonly ChainedRecord[]): Promise<boolean> {
    if (records.length === 0) return true;
    const ok = await this.sinks.write(records);
    if (ok) {
      this.backoff.reset();
      this.headFile.update(records);
    }
    return ok;
  }
}
