/**
 * WAL checkpoints of the SQLite audit file on a thread of their own. SQLite's automatic checkpoint
 * runs inside the commit that crosses its threshold (1,000 pages), so that commit, and every
 * caller waiting on it for group commit, waits while pages are copied into the database and
 * synced: 7–14 ms, 5–9 times a second at ~8,000 decisions/s (measured in `argus serve`, see
 * docs/benchmarks.md). A PASSIVE checkpoint on another connection runs beside the writer without
 * taking its lock; the writer keeps appending to the WAL and restarts it at its next commit once
 * everything was copied.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What the checkpoint thread is given. */
interface CheckpointerData {
  /** better-sqlite3, resolved from this module (the thread runs plain CommonJS). */
  driver: string;
  path: string;
  synchronous: 'NORMAL' | 'FULL';
  everyMs: number;
  idleExitMs: number;
}

// The thread's whole program. Plain CommonJS run with `eval`, so that the same text runs from the
// TypeScript sources and from the built bundle; its inputs come in `workerData` only.
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// The checkpoint syncs as this connection's setting says: the writer's.
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 0');
let seen = -1;
let idleSince = Date.now();
const stop = () => { clearInterval(timer); if (db.open) db.close(); parentPort.close(); };
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r.log !== seen) { seen = r.log; idleSince = Date.now(); }
    else if (Date.now() - idleSince >= workerData.idleExitMs) stop();
  } catch {
    stop();
  }
}, workerData.everyMs);
parentPort.on('message', (m) => { if (m === 'stop') stop(); });
parentPort.postMessage({ t: 'ready' });
`;

/** Options of {@link Checkpointer}. */
export interface CheckpointerOptions {
  path: string;
  synchronous: 'NORMAL' | 'FULL';
  /** How often the thread checkpoints. Default 100 ms. */
  everyMs?: number;
  /** The thread ends after this long without a new WAL frame. Default 30 s. */
  idleExitMs?: number;
  /** The thread is running and checkpointing: the writer may leave the WAL to it. */
  onReady: () => void;
  /** The thread ended (idle, failed, stopped): the writer checkpoints again. */
  onEnd: () => void;
}

/** The checkpoint thread of one SQLite file; {@link stop} ends it. */
export class Checkpointer {
  private readonly worker: Worker;
  private ended = false;

  constructor(options: CheckpointerOptions) {
    const workerData: CheckpointerData = {
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      path: options.path,
      synchronous: options.synchronous,
      everyMs: options.everyMs ?? 100,
      idleExitMs: options.idleExitMs ?? 30_000,
    };
    // Its heap holds a connection and a few objects; the limits keep its young generation small.
    this.worker = new Worker(PROGRAM, {
      eval: true,
      workerData,
      name: 'argus-audit-checkpoint',
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.worker.on('message', (m: { t: 'ready' }) => {
      if (m.t === 'ready') options.onReady();
    });
    // A thread that fails (its file gone, its connection refused) simply ends: the writer
    // checkpoints again, as SQLite does by default. Listened to so that it cannot throw here.
    this.worker.on('error', () => undefined);
    this.worker.once('exit', () => {
      this.ended = true;
      options.onEnd();
    });
  }

  /** Ends the thread (its connection closed) and resolves once it is gone. */
  async stop(): Promise<void> {
    if (this.ended) return;
    const gone = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await gone;
    clearTimeout(timer);
  }
}
