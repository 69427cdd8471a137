/**
 * The decision-thread side of the audit thread (`worker.ts`): builds the value-free records, hands
 * them over in batches ({@link Outbox}), answers each caller when the audit thread acknowledges its
 * record ({@link Acks}), mirrors the thread's counters into the metrics, and fails closed when the
 * thread dies.
 */
import { Worker } from 'node:worker_threads';
import type { DecisionEvent, RecordOptions } from '@argus/contracts';
import { Registry, UnavailableError, silentLogger, type Logger } from '@argus/platform';
import { BackPressure, type Durable } from './buffer.ts';
import { waitsForCommit, type AuditConfig } from './config.ts';
import type { DropReason } from './drops.ts';
import { LiveFeed } from './live-feed.ts';
import { auditMetrics, MetricsMirror, type AuditMetrics } from './metrics.ts';
import { createRecordBuilder, type RecordBuilder, type UnchainedAuditRecord } from './record.ts';
import type { AuditSigning } from './signing.ts';
import type { AuditListener, AuditTrailStats } from './types.ts';
import type { AuditWorkerData, FromAudit, ToAudit } from './worker.ts';
import type { AuditTrail, AuditTrailDeps } from './writer.ts';

/** How long records gather on the decision thread before they cross (bounded added latency). */
const HAND_OVER_MS = 1;
/**
 * How long records no caller waits for (`answered`, and every record in async mode) may gather:
 * larger batches are fewer commits, and each commit rewrites the B-tree pages it touches in full.
 * Measured on the proxy as deployed (five alternating pairs, docs/benchmarks/proxy.md): 10 ms
 * against 1 ms cost 0.88–0.93× the CPU per call, the audit thread 0.77–0.88×.
 */
const ANSWERED_HAND_OVER_MS = 10;

/** Where the worker's entry is: the TypeScript sources get a small loader, built JS runs as is. */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./worker-boot.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);
}

/**
 * Records gathered on this thread until they cross as one batch: when `batchSize` are waiting, or
 * after {@link HAND_OVER_MS} ({@link ANSWERED_HAND_OVER_MS} while every record waiting was
 * `answered`). One message per batch, not per event-loop turn (each message wakes the audit thread;
 * per turn it cost ~8 % of the decision thread in a profile at ~800 req/s).
 */
export class Outbox {
  private records: UnchainedAuditRecord[] = [];
  /** Index of the first record waiting. */
  private first = 0;
  /** The pending hand-over and when it fires (`performance.now()`), if one is pending. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = 0;

  constructor(
    private readonly batchSize: number,
    private readonly post: (first: number, records: UnchainedAuditRecord[]) => void,
  ) {}

  /** Adds the record handed over as number `index`; `answered`: no caller waits for it. */
  add(rec: UnchainedAuditRecord, index: number, answered = false): void {
    if (this.records.length === 0) this.first = index;
    this.records.push(rec);
    if (this.records.length >= this.batchSize) {
      this.send();
      return;
    }
    const wait = answered ? ANSWERED_HAND_OVER_MS : HAND_OVER_MS;
    const due = performance.now() + wait;
    if (this.timer !== undefined) {
      if (due >= this.due) return;
      clearTimeout(this.timer);
    }
    this.due = due;
    this.timer = setTimeout(this.send, wait);
  }

  /** Posts what is waiting, if anything. */
  readonly send = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.records.length === 0) return;
    const records = this.records;
    this.records = [];
    this.post(this.first, records);
  };

  /** Forgets what is waiting (the audit thread is gone). */
  clear(): void {
    this.records = [];
  }
}

/**
 * Numbers the records handed over and settles their strict callers when the audit thread answers.
 * The callers wait in a ring indexed by record number whose slots are cleared as they are answered,
 * not in a `Map`: a `Map` that keeps growing and shrinking leaves outgrown tables behind still
 * holding their entries, and each waiting caller holds its whole request (see `OpenList` in
 * `@argus/platform`).
 */
class Acks {
  /** Index of the next record handed over. */
  private next = 0;
  /** Records the audit thread answered. */
  private answered = 0;
  /** The caller waiting on record `i` at `i % waiters.length`, for `answered <= i < next`. */
  private waiters: Array<Durable | undefined> = new Array<Durable | undefined>(256).fill(undefined);

  /** Records handed over and not answered yet. */
  get inFlight(): number {
    return this.next - this.answered;
  }

  /** The index of a new record. */
  take(): number {
    return this.next++;
  }

  /** Resolves once record `index` (taken, not answered yet) is durable; rejects when it cannot be made so. */
  wait(index: number): Promise<void> {
    if (index - this.answered >= this.waiters.length) this.grow(index - this.answered + 1);
    return new Promise<void>((resolve, reject) => {
      this.waiters[index % this.waiters.length] = { resolve, reject };
    });
  }

  /** Records `first .. first+count-1` are answered; those in `failed` with the reason given. */
  answer(first: number, count: number, failed: ReadonlyArray<[number, string]> | undefined): void {
    const why = failed ? new Map(failed) : undefined;
    const size = this.waiters.length;
    for (let i = first; i < first + count; i++) {
      const w = this.waiters[i % size];
      if (!w) continue;
      this.waiters[i % size] = undefined;
      const reason = why?.get(i);
      if (reason === undefined) w.resolve();
      else w.reject(new UnavailableError(reason));
    }
    this.answered += count;
  }

  /** Rejects every waiting caller and counts everything as answered; returns how many were in flight. */
  failAll(why: string): number {
    const lost = this.inFlight;
    const size = this.waiters.length;
    for (let i = this.answered; i < this.next; i++) {
      const w = this.waiters[i % size];
      this.waiters[i % size] = undefined;
      w?.reject(new UnavailableError(why));
    }
    this.answered = this.next;
    return lost;
  }

  /** A ring of at least `need` slots, the waiting callers moved over. */
  private grow(need: number): void {
    let size = this.waiters.length * 2;
    while (size < need) size *= 2;
    const ring = new Array<Durable | undefined>(size).fill(undefined);
    for (let i = this.answered; i < this.next; i++) ring[i % size] = this.waiters[i % this.waiters.length];
    this.waiters = ring;
  }
}

/** Requests to the audit thread answered with its counters (`flush`, `close`). */
class Requests {
  private lastId = 0;
  private readonly open = new Map<number, { resolve: (stats: AuditTrailStats) => void; reject: (err: unknown) => void }>();

  /** Sends the request built for a fresh id; resolves with the stats of the answer. */
  ask(send: (id: number) => void): Promise<AuditTrailStats> {
    return new Promise<AuditTrailStats>((resolve, reject) => {
      const id = ++this.lastId;
      this.open.set(id, { resolve, reject });
      send(id);
    });
  }

  answer(id: number, stats: AuditTrailStats): void {
    const reply = this.open.get(id);
    this.open.delete(id);
    reply?.resolve(stats);
  }

  failAll(why: string): void {
    for (const r of this.open.values()) r.reject(new UnavailableError(why));
    this.open.clear();
  }
}

/** The decision-thread side of the audit thread: builds records, hands them over in batches. */
export class WorkerTrail implements AuditTrail {
  readonly writerId: string;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly build: RecordBuilder;
  private readonly strict: boolean;
  private readonly m: AuditMetrics;
  private readonly mirror: MetricsMirror;
  private readonly feed: LiveFeed;
  private readonly gate: BackPressure;
  private readonly outbox: Outbox;
  private readonly acks = new Acks();
  private readonly requests = new Requests();
  /** Drops on this thread (after close, buffer full, thread gone); the audit thread reports its own. */
  private readonly local = { dropped: 0, droppedBy: {} as Record<string, number> };
  private worker!: Worker;
  /** The audit thread's counters as of its last report. */
  private last!: AuditTrailStats;
  /** Why the audit thread is gone, once it is. */
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
    this.strict = waitsForCommit(cfg.durability);
    this.m = auditMetrics(deps.metrics ?? new Registry());
    this.mirror = new MetricsMirror(this.m);
    this.feed = new LiveFeed(this.logger);
    this.gate = new BackPressure(cfg.buffer.onFull);
    // One JSON text per batch: cheaper on this thread than the structured clone of the objects
    // (~9 vs ~25 µs a record measured), and the records are plain JSON data.
    this.outbox = new Outbox(cfg.buffer.batchSize, (first, recs) => {
      if (this.failure === undefined) this.send({ t: 'batch', first, count: recs.length, json: JSON.stringify(recs) });
    });
  }

  async start(): Promise<void> {
    const data: AuditWorkerData = {
      config: this.cfg,
      ...(this.signing.keyPem && !this.cfg.signing?.privateKey ? { signingKeyPem: this.signing.keyPem } : {}),
      ...(this.signing.headFile ? { headFile: this.signing.headFile } : {}),
      logLevel: this.logger.level,
      statsEveryMs: 1000,
    };
    // The audit thread's garbage is short-lived (one batch's JSON, hashes, rows): a 2 MB young
    // generation keeps its scavenges cheap while V8's default (grown to 16–32 MB by start-up's
    // allocation) stays committed for the process's life. Measured on `argus serve` idle:
    // 154–156 MB RSS → 143–147 MB (bench/startup, docs/benchmarks.md section 5).
    this.worker = new Worker(workerEntry(), { workerData: data, name: 'argus-audit', resourceLimits: { maxYoungGenerationSizeMb: 2 } });
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
    const off = this.feed.subscribe(listener);
    if (this.feed.size === 1) this.send({ t: 'live', on: true });
    return () => {
      if (off() && this.feed.size === 0 && !this.closing) this.send({ t: 'live', on: false });
    };
  }

  record(event: DecisionEvent, options?: RecordOptions): Promise<void> {
    if (this.closing || this.failure !== undefined) {
      const why = this.failure ?? 'audit trail is closed';
      if (this.strict) return Promise.reject(new UnavailableError(why));
      this.drop(this.failure !== undefined ? 'thread_failed' : 'closed', event.decisionId);
      return Promise.resolve();
    }
    if (!this.strict) {
      switch (this.gate.admit(this.acks.inFlight >= this.cfg.buffer.maxRecords)) {
        case 'wait':
          return this.gate.wait().then(() => this.record(event, options));
        case 'drop':
          this.drop('buffer_full', event.decisionId);
          return Promise.resolve();
        case 'accept':
          break;
      }
    }
    const index = this.acks.take();
    // In async mode no caller ever waits for its record.
    this.outbox.add(this.build(event, this.clock()), index, !this.strict || options?.answered === true);
    if (!this.strict) return Promise.resolve();
    return this.acks.wait(index);
  }

  async flush(): Promise<void> {
    if (this.failure !== undefined) throw new UnavailableError(this.failure);
    this.outbox.send();
    this.last = await this.ask((id) => ({ t: 'flush', id }));
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.outbox.send();
      if (this.failure === undefined) {
        try {
          this.last = await this.ask((id) => ({ t: 'close', id }));
          this.mirror.apply(this.last);
        } catch (err) {
          this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit thread did not close cleanly');
        }
      }
      this.gate.wakeAll();
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
      queued: s.queued + this.acks.inFlight,
      dropped: s.dropped + this.local.dropped,
      droppedBy,
    };
  }

  private ask(make: (id: number) => ToAudit): Promise<AuditTrailStats> {
    if (this.failure !== undefined) return Promise.reject(new UnavailableError(this.failure));
    return this.requests.ask((id) => this.send(make(id)));
  }

  private send(m: ToAudit): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromAudit): void {
    switch (m.t) {
      case 'done':
        this.acks.answer(m.first, m.count, m.failed);
        this.gate.wake(this.cfg.buffer.maxRecords - this.acks.inFlight);
        return;
      case 'flushed':
        this.mirror.apply(m.stats);
        this.requests.answer(m.id, m.stats);
        return;
      case 'stats':
        this.last = m.stats;
        this.mirror.apply(m.stats);
        return;
      case 'records':
        for (const rec of m.recs) this.feed.emit(rec);
        return;
      case 'log':
        this.relayLog(m.line);
        return;
      default:
        return;
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

  private drop(reason: DropReason, decisionId: string): void {
    this.local.dropped++;
    this.local.droppedBy[reason] = (this.local.droppedBy[reason] ?? 0) + 1;
    this.m.dropped.inc({ reason });
    if (this.local.dropped === 1 || this.local.dropped % 1000 === 0) {
      this.logger.warn({ reason, decisionId, droppedTotal: this.local.dropped }, 'audit record dropped');
    }
  }

  /** The audit thread is gone: strict callers are told, async records are counted as dropped. */
  private fail(why: string): void {
    if (this.failure !== undefined) return;
    this.failure = why;
    this.logger.error({ err: why }, 'audit thread failed; decisions are no longer recorded');
    const lost = this.acks.failAll(why);
    if (!this.strict) for (let i = 0; i < lost; i++) this.drop('thread_failed', '');
    this.requests.failAll(why);
    this.outbox.clear();
    this.gate.wakeAll();
  }
}
