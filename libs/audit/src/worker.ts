/**
 * The audit thread (a `node:worker_threads` worker started by `createAuditTrail`): it opens the
 * configured sinks and runs the pipeline — canonical JSON, the hash chain, checkpoints, batches to
 * the sinks, the spill file — so that none of it runs on the decision thread. The decision thread
 * hands over value-free records in batches ({@link ToAudit}); this thread answers each batch once it
 * is admitted (async) or durable (group commit), and reports its counters for the metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { createLogger } from '@argus/platform';
import { loadPrivateKey } from './chain.ts';
import { waitsForCommit, type AuditConfig } from './config.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import type { UnchainedAuditRecord } from './record.ts';
import { createSinks } from './sinks/index.ts';
import type { AuditTrailStats, ChainedRecord } from './types.ts';

/** What the audit thread is started with. */
export interface AuditWorkerData {
  config: AuditConfig;
  /** PEM of the checkpoint key, when signing is on. */
  signingKeyPem?: string;
  headFile?: string;
  logLevel: string;
  /** Interval of the counter reports (ms). */
  statsEveryMs: number;
}

/** Decision thread → audit thread. */
export type ToAudit =
  /** `json`: the batch's records as one JSON array text. */
  | { t: 'batch'; first: number; count: number; json: string }
  | { t: 'flush'; id: number }
  | { t: 'close'; id: number }
  | { t: 'live'; on: boolean };

/** Audit thread → decision thread. */
export type FromAudit =
  | { t: 'ready'; stats: AuditTrailStats }
  | { t: 'failed'; message: string }
  /** Records `first .. first+count-1` are admitted (async) or durable (strict), but for `failed`. */
  | { t: 'done'; first: number; count: number; failed?: Array<[number, string]> }
  | { t: 'flushed'; id: number; stats: AuditTrailStats }
  | { t: 'stats'; stats: AuditTrailStats }
  | { t: 'records'; recs: ChainedRecord[] }
  | { t: 'log'; line: string };

if (!parentPort) throw new Error('the audit worker runs in a worker thread');
const port = parentPort;
const data = workerData as AuditWorkerData;
const post = (m: FromAudit): void => port.postMessage(m);

// Log lines go to the decision thread's logger (its destination may scrub).
const logger = createLogger({
  level: data.logLevel,
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      post({ t: 'log', line: String(chunk) });
      cb();
    },
  }),
});

let pipeline: Pipeline | undefined;
// Messages that arrive while the sinks are opening wait here, in order.
let early: ToAudit[] | undefined = [];
let live: (() => void) | undefined;
let liveBuffer: ChainedRecord[] = [];

function handle(m: ToAudit): void {
  if (!pipeline) {
    early!.push(m);
    return;
  }
  const p = pipeline;
  switch (m.t) {
    case 'batch': {
      const strict = waitsForCommit(data.config.durability);
      const recs = JSON.parse(m.json) as UnchainedAuditRecord[];
      const waits = recs.map((r) => p.record(r));
      if (!strict) {
        // Async: record() never rejects; the batch is in the pipeline's hands.
        post({ t: 'done', first: m.first, count: m.count });
        return;
      }
      void Promise.allSettled(waits).then((results) => {
        const failed: Array<[number, string]> = [];
        results.forEach((r, i) => {
          if (r.status === 'rejected') failed.push([m.first + i, r.reason instanceof Error ? r.reason.message : String(r.reason)]);
        });
        post({ t: 'done', first: m.first, count: m.count, ...(failed.length > 0 ? { failed } : {}) });
      });
      return;
    }
    case 'flush':
      void p.flush().then(() => post({ t: 'flushed', id: m.id, stats: p.stats() }));
      return;
    case 'close':
      clearInterval(statsTimer);
      void p.close().then(() => {
        flushLive();
        post({ t: 'flushed', id: m.id, stats: p.stats() });
        port.close();
      });
      return;
    case 'live':
      if (m.on && !live) {
        live = p.subscribe((rec) => {
          if (liveBuffer.push(rec) === 1) setImmediate(flushLive);
        });
      } else if (!m.on && live) {
        live();
        live = undefined;
      }
      return;
  }
}

function flushLive(): void {
  if (liveBuffer.length === 0) return;
  const recs = liveBuffer;
  liveBuffer = [];
  post({ t: 'records', recs });
}

port.on('message', handle);
const statsTimer = setInterval(() => {
  if (pipeline) post({ t: 'stats', stats: pipeline.stats() });
}, data.statsEveryMs);
statsTimer.unref();

try {
  const { sinks } = await createSinks(data.config);
  pipeline = await createPipeline(data.config, {
    sinks,
    logger,
    ...(data.signingKeyPem ? { signingKey: loadPrivateKey(data.signingKeyPem) } : {}),
    ...(data.headFile ? { headFile: data.headFile } : {}),
  });
  post({ t: 'ready', stats: pipeline.stats() });
  const queued = early!;
  early = undefined;
  for (const m of queued) handle(m);
} catch (err) {
  post({ t: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
}
