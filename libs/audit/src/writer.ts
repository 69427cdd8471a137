/**
 * The audit writer as the apps see it (`createAuditTrail`, {@link AuditTrail}). The decision thread
 * only builds the value-free record (masks, opted-in paths) and hands records over in batches; the
 * audit thread (a worker, `worker.ts`) owns canonical JSON, the hash chain, checkpoints, the sinks
 * and the spill file ({@link Pipeline}). With sink objects passed in, or `thread: 'inline'`, the
 * same pipeline runs on the calling thread instead.
 *
 * Durability: `strict` (the default) is group commit — `record` resolves once the batch holding the
 * record is durable in every sink (or fsync'd in the spill file), so a `kill -9` loses no
 * acknowledged decision. `async` resolves at once and may lose the last batch on a crash. Drops
 * (only where configured or when the disk budget is spent) are counted per reason
 * (`argus_audit_dropped_total`, `stats().droppedBy`) and logged.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DecisionEvent, DecisionRecorder } from '@argus/contracts';
import { ConfigError, Registry, UnavailableError, silentLogger, type Logger } from '@argus/platform';
import { loadPrivateKey } from './chain.ts';
import { parseAuditConfig, type AuditConfig, type AuditConfigInput } from './config.ts';
import { createPipeline, makeMetrics, type AuditTrailStats, type Metrics, type Pipeline } from './pipeline.ts';
import { createRecordBuilder, type RecordBuilder, type UnchainedAuditRecord } from './record.ts';
import { createSinks } from './sinks/index.ts';
import type { AuditListener, AuditSink, AuditSubscribe, ChainedRecord } from './types.ts';
import type { AuditWorkerData, FromAudit, ToAudit } from './worker.ts';

export type { AuditTrailStats } from './pipeline.ts';

/** Collaborators of the writer. */
export interface AuditTrailDeps {
  /**
   * Sink objects to write to. When given, the pipeline runs inline on this thread with them (tests,
   * embedders with their own sink). When absent, the audit thread opens the configured sinks.
   */
  sinks?: AuditSink[];
  logger?: Logger;
  /** Prometheus registry the writer's metrics are registered in. */
  metrics?: Registry;
  clock?: () => Date;
  /** Where the pipeline runs. Default: `worker`, or `inline` when `sinks` are given. */
  thread?: 'worker' | 'inline';
}

/** The audit trail: a `DecisionRecorder` with flush, graceful close, stats and a live feed. */
export interface AuditTrail extends DecisionRecorder, AuditSubscribe {
  readonly writerId: string;
  /** Strict (group commit): resolves once the record is durable. Async: returns at once. Never throws for a sink fault in async mode. */
  record(event: DecisionEvent): Promise<void>;
  /** Resolves once everything recorded so far is in the sinks, or durable in the spill file if a sink is down. */
  flush(): Promise<void>;
  /** Signs a final checkpoint, flushes everything and closes the sinks. */
  close(): Promise<void>;
  /** Counters; with the worker, as of its last report (`flush()` refreshes them). */
  stats(): AuditTrailStats;
}

/** The checkpoint key and where the signed head goes, resolved from the configuration. */
export interface AuditSigning {
  key?: KeyObject;
  keyPem?: string;
  /** The private key file (generated when it was missing), if the key came from a file. */
  keyFile?: string;
  headFile?: string;
}

/**
 * Resolves the checkpoint key: the configured one, else the key file (default `audit-key` beside the
 * spill directory, i.e. `.argus/audit-key`), generated (Ed25519, mode 0600, its public half in
 * `audit-key.pub`) when missing. The signed head is written to `audit-head.json` beside the key.
 */
export function resolveSigning(cfg: AuditConfig): AuditSigning {
  const s = cfg.signing;
  if (!s || s.enabled === false) return {};
  const keyFile = s.privateKeyFile ?? (s.privateKey ? undefined : join(dirname(cfg.spill.dir), 'audit-key'));
  const headFile = s.headFile ?? (keyFile ? join(dirname(keyFile), 'audit-head.json') : undefined);
  let pem = s.privateKey;
  if (!pem && keyFile) {
    if (!existsSync(keyFile)) generateKeyFile(keyFile);
    try {
      pem = readFileSync(keyFile, 'utf8');
    } catch {
      throw new ConfigError('invalid audit configuration', [{ path: '/signing/privateKeyFile', message: 'cannot be read' }]);
    }
  }
  if (!pem) return {};
  return { key: loadPrivateKey(pem), keyPem: pem, ...(keyFile ? { keyFile } : {}), ...(headFile ? { headFile } : {}) };
}

/**
 * Generates the key file, once across processes: the key is written whole to a private temporary
 * file, then hard-linked into place (atomic, and refused when the name exists). Replicas sharing a
 * data directory that start together all end up reading the one key the first link published.
 */
function generateKeyFile(keyFile: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(keyFile), { recursive: true });
  const tmp = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, keyFile);
    writeFileSync(`${keyFile}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  } catch (err) {
    // Another process published its key first: that one is read.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Builds the audit trail: resumes the chain from the last record held by the sinks or the spill
 * file, and replays a spill file left by a previous run.
 */
export async function createAuditTrail(config: AuditConfig | AuditConfigInput, deps: AuditTrailDeps = {}): Promise<AuditTrail> {
  const cfg = Object.isFrozen(config) ? (config as AuditConfig) : parseAuditConfig(config);
  const signing = resolveSigning(cfg);
  const thread = deps.thread ?? (deps.sinks ? 'inline' : 'worker');
  if (thread === 'inline') {
    const sinks = deps.sinks ?? (await createSinks(cfg)).sinks;
    const pipeline = await createPipeline(cfg, {
      sinks,
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(signing.key ? { signingKey: signing.key } : {}),
      ...(signing.headFile ? { headFile: signing.headFile } : {}),
    });
    return new InlineTrail(cfg, pipeline, deps.clock ?? (() => new Date()));
  }
  const trail = new WorkerTrail(cfg, deps, signing);
  await trail.start();
  return trail;
}

/** The pipeline on the calling thread. */
class InlineTrail implements AuditTrail {
  readonly writerId: string;
  private readonly build: RecordBuilder;

  constructor(
    cfg: AuditConfig,
    private readonly pipeline: Pipeline,
    private readonly clock: () => Date,
  ) {
    this.writerId = cfg.writerId;
    this.build = createRecordBuilder(cfg.record);
  }

  record(event: DecisionEvent): Promise<void> {
    return this.pipeline.record(this.build(event, this.clock()));
  }

  subscribe(listener: AuditListener): () => void {
    return this.pipeline.subscribe(listener);
  }

  flush(): Promise<void> {
    return this.pipeline.flush();
  }

  close(): Promise<void> {
    return this.pipeline.close();
  }

  stats(): AuditTrailStats {
    return this.pipeline.stats();
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How long records gather on the decision thread before they cross (bounded added latency). */
const HAND_OVER_MS = 1;

/** Where the worker's entry is: the TypeScript sources get a small loader, built JS runs as is. */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./worker-boot.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);
}

/** The decision-thread side of the audit thread: builds records, hands them over in batches. */
class WorkerTrail implements AuditTrail {
  readonly writerId: string;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly build: RecordBuilder;
  private readonly strict: boolean;
  private readonly m: Metrics;
  private readonly listeners = new Set<AuditListener>();
  private worker!: Worker;

  private pending: UnchainedAuditRecord[] = [];
  private handScheduled = false;
  /** Index of the next record handed over; `done` counts the ones the audit thread answered. */
  private next = 0;
  private done = 0;
  private readonly waiters = new Map<number, Waiter>();
  private readonly blocked: Array<() => void> = [];
  private readonly replies = new Map<number, { resolve: (stats: AuditTrailStats) => void; reject: (err: unknown) => void }>();
  private replyId = 0;
  private last!: AuditTrailStats;
  /** Counter values already added to the metrics (the audit thread reports totals). */
  private reported = {
    spilled: 0,
    replayed: 0,
    checkpoints: 0,
    failedWrites: 0,
    written: new Map<string, number>(),
    dropped: new Map<string, number>(),
  };
  private readonly local = { dropped: 0, droppedBy: {} as Record<string, number> };
  private failure: string | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly cfg: AuditConfig,
    deps: AuditTrailDeps,
    private readonly signing: AuditSigning,
  ) {
    this.writerId = cfg.writerId;
    this.logger = (deps.logger ?? silentLogger()).child({ component: 'audit', writer: cfg.writerId });
    this.clock = deps.clock ?? (() => new Date());
    this.build = createRecordBuilder(cfg.record);
    this.strict = cfg.durability === 'strict';
    this.m = makeMetrics(deps.metrics ?? new Registry());
  }

  async start(): Promise<void> {
    const data: AuditWorkerData = {
      config: this.cfg,
      ...(this.signing.keyPem && !this.cfg.signing?.privateKey ? { signingKeyPem: this.signing.keyPem } : {}),
      ...(this.signing.headFile ? { headFile: this.signing.headFile } : {}),
      logLevel: this.logger.level,
      statsEveryMs: 1000,
    };
    this.worker = new Worker(workerEntry(), { workerData: data, name: 'argus-audit' });
    this.worker.unref();
    await new Promise<void>((resolve, reject) => {
      const onStartError = (err: unknown) => reject(err instanceof Error ? err : new UnavailableError(String(err)));
      this.worker.once('error', onStartError);
      this.worker.on('message', (m: FromAudit) => {
        if (m.t === 'ready') {
          this.worker.off('error', onStartError);
          this.worker.on('error', (err) => this.fail(err.message));
          this.last = m.stats;
          resolve();
        } else if (m.t === 'failed') {
          reject(new UnavailableError(`audit trail cannot start: ${m.message}`));
        } else {
          this.onMessage(m);
        }
      });
      this.worker.once('exit', (code) => {
        if (!this.closed) this.fail(`audit thread exited (code ${code})`);
        reject(new UnavailableError('audit thread exited while starting'));
      });
    });
    this.logger.debug({ head: this.last.head.seq, thread: 'worker' }, 'audit trail started');
  }

  subscribe(listener: AuditListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.send({ t: 'live', on: true });
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0 && !this.closing) this.send({ t: 'live', on: false });
    };
  }

  record(event: DecisionEvent): Promise<void> {
    if (this.closing || this.failure !== undefined) {
      const why = this.failure ?? 'audit trail is closed';
      if (this.strict) return Promise.reject(new UnavailableError(why));
      this.drop(this.failure !== undefined ? 'thread_failed' : 'closed', event.decisionId);
      return Promise.resolve();
    }
    if (!this.strict) {
      const full = this.next - this.done >= this.cfg.buffer.maxRecords;
      if (this.cfg.buffer.onFull === 'block' && (full || this.blocked.length > 0)) {
        return new Promise<void>((resolve) => this.blocked.push(resolve)).then(() => this.record(event));
      }
      if (full && this.cfg.buffer.onFull === 'drop') {
        this.drop('buffer_full', event.decisionId);
        return Promise.resolve();
      }
    }
    this.pending.push(this.build(event, this.clock()));
    const index = this.next++;
    if (this.pending.length >= this.cfg.buffer.batchSize) this.handOver();
    else if (!this.handScheduled) {
      // Gather for up to HAND_OVER_MS: one message per batch, not per event-loop turn (each message
      // wakes the audit thread; per turn it cost ~8 % of the decision thread in a profile at ~800 req/s).
      this.handScheduled = true;
      setTimeout(this.handOver, HAND_OVER_MS);
    }
    if (!this.strict) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.set(index, { resolve, reject }));
  }

  /** Posts the records gathered this turn as one batch. */
  private readonly handOver = (): void => {
    this.handScheduled = false;
    if (this.pending.length === 0 || this.failure !== undefined) return;
    const recs = this.pending;
    this.pending = [];
    // One JSON text per batch: cheaper on this thread than the structured clone of the objects
    // (~9 vs ~25 µs a record measured), and the records are plain JSON data.
    this.send({ t: 'batch', first: this.next - recs.length, count: recs.length, json: JSON.stringify(recs) });
  };

  async flush(): Promise<void> {
    if (this.failure !== undefined) throw new UnavailableError(this.failure);
    this.handOver();
    this.last = await this.ask((id) => ({ t: 'flush', id }));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.handOver();
      if (this.failure === undefined) {
        try {
          this.last = await this.ask((id) => ({ t: 'close', id }));
          this.applyStats(this.last);
        } catch (err) {
          this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit thread did not close cleanly');
        }
      }
      for (const wake of this.blocked.splice(0)) wake();
      await this.worker.terminate();
    })();
    return this.closed;
  }

  stats(): AuditTrailStats {
    const s = this.last;
    const droppedBy = { ...s.droppedBy };
    for (const [k, v] of Object.entries(this.local.droppedBy)) droppedBy[k] = (droppedBy[k] ?? 0) + v;
    return {
      ...s,
      thread: 'worker',
      queued: s.queued + (this.next - this.done),
      dropped: s.dropped + this.local.dropped,
      droppedBy,
    };
  }

  private ask(make: (id: number) => ToAudit): Promise<AuditTrailStats> {
    return new Promise<AuditTrailStats>((resolve, reject) => {
      const id = ++this.replyId;
      if (this.failure !== undefined) return reject(new UnavailableError(this.failure));
      this.replies.set(id, { resolve, reject });
      this.send(make(id));
    });
  }

  private send(m: ToAudit): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromAudit): void {
    switch (m.t) {
      case 'done': {
        const failed = m.failed ? new Map(m.failed) : undefined;
        for (let i = m.first; i < m.first + m.count; i++) {
          const w = this.waiters.get(i);
          if (!w) continue;
          this.waiters.delete(i);
          const why = failed?.get(i);
          if (why === undefined) w.resolve();
          else w.reject(new UnavailableError(why));
        }
        this.done += m.count;
        this.wakeBlocked();
        return;
      }
      case 'flushed': {
        const reply = this.replies.get(m.id);
        this.replies.delete(m.id);
        this.applyStats(m.stats);
        reply?.resolve(m.stats);
        return;
      }
      case 'stats':
        this.last = m.stats;
        this.applyStats(m.stats);
        return;
      case 'records':
        for (const rec of m.recs) this.emit(rec);
        return;
      case 'log':
        this.relayLog(m.line);
        return;
      default:
        return;
    }
  }

  private emit(rec: ChainedRecord): void {
    for (const l of this.listeners) {
      try {
        l(rec);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit listener failed');
      }
    }
  }

  private relayLog(line: string): void {
    try {
      const { level, msg, time: _t, pid: _p, hostname: _h, name: _n, ...fields } = JSON.parse(line) as Record<string, unknown>;
      const method =
        level === 60 ? 'fatal' : level === 50 ? 'error' : level === 40 ? 'warn' : level === 30 ? 'info' : level === 20 ? 'debug' : 'trace';
      this.logger[method](fields, String(msg ?? ''));
    } catch {
      this.logger.warn({ line: line.slice(0, 200) }, 'unreadable log line from the audit thread');
    }
  }

  /** Brings the metrics up to the audit thread's totals. */
  private applyStats(s: AuditTrailStats): void {
    const r = this.reported;
    this.m.queueDepth.set(s.queued);
    this.m.spillBacklog.set(s.spillBacklogBytes);
    const inc = (c: { inc: (n: number) => void }, now: number, before: number) => now > before && c.inc(now - before);
    inc(this.m.spilled, s.spilled, r.spilled);
    inc(this.m.replayed, s.replayed, r.replayed);
    inc(this.m.checkpoints, s.checkpoints, r.checkpoints);
    r.spilled = Math.max(r.spilled, s.spilled);
    r.replayed = Math.max(r.replayed, s.replayed);
    r.checkpoints = Math.max(r.checkpoints, s.checkpoints);
    for (const sink of s.sinks) {
      const before = r.written.get(sink.name) ?? 0;
      if (sink.written > before) this.m.written.inc({ sink: sink.name }, sink.written - before);
      r.written.set(sink.name, Math.max(before, sink.written));
      const fBefore = r.dropped.get(`failed:${sink.name}`) ?? 0;
      if (sink.failed > fBefore) this.m.failed.inc({ sink: sink.name }, sink.failed - fBefore);
      r.dropped.set(`failed:${sink.name}`, Math.max(fBefore, sink.failed));
    }
    for (const [reason, n] of Object.entries(s.droppedBy)) {
      const before = r.dropped.get(reason) ?? 0;
      if (n > before) this.m.dropped.inc({ reason }, n - before);
      r.dropped.set(reason, Math.max(before, n));
    }
  }

  private drop(reason: string, decisionId: string): void {
    this.local.dropped++;
    this.local.droppedBy[reason] = (this.local.droppedBy[reason] ?? 0) + 1;
    this.m.dropped.inc({ reason });
    if (this.local.dropped === 1 || this.local.dropped % 1000 === 0) {
      this.logger.warn({ reason, decisionId, droppedTotal: this.local.dropped }, 'audit record dropped');
    }
  }

  private wakeBlocked(): void {
    let room = this.cfg.buffer.maxRecords - (this.next - this.done);
    while (this.blocked.length > 0 && room-- > 0) this.blocked.shift()!();
  }

  /** The audit thread is gone: strict callers are told, async records are counted as dropped. */
  private fail(why: string): void {
    if (this.failure !== undefined) return;
    this.failure = why;
    this.logger.error({ err: why }, 'audit thread failed; decisions are no longer recorded');
    const lost = this.next - this.done;
    for (const w of this.waiters.values()) w.reject(new UnavailableError(why));
    if (!this.strict) for (let i = 0; i < lost; i++) this.drop('thread_failed', '');
    this.waiters.clear();
    for (const r of this.replies.values()) r.reject(new UnavailableError(why));
    this.replies.clear();
    this.done = this.next;
    this.pending = [];
    for (const wake of this.blocked.splice(0)) wake();
  }
}
