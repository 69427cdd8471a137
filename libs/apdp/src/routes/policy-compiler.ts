import { Worker } from 'node:worker_threads';
import type { Diagnostic, PolicySetInput } from '@argus/engine';
import { ArgusError, UnavailableError } from '@argus/platform';

/** What compiling a caller's policy set answered. */
export type CompileAnswer = { ok: true; version: string; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/** Bounds of the compile worker. */
export interface PolicyCompilerOptions {
  /** A compilation running longer is abandoned (the worker is restarted) and answered 503. Default 30,000 ms. */
  timeoutMs?: number;
  /** Compilations waiting beyond this many are refused with a 429. Default 64. */
  maxQueued?: number;
}

/** The worker's entry: from the TypeScript sources a small tsx loader, built JS (scripts/build.mjs) runs the built worker. */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./policy-compile-worker.mjs', import.meta.url)
  : new URL('./policy-compile-worker.js', import.meta.url);

/**
 * Compiles caller-supplied policy sets in one worker thread (node:worker_threads), one at a time,
 * so a large set never stalls the decisions the event loop is answering. The worker is started
 * on first use and restarted after a timeout or a crash.
 */
export class PolicyCompiler {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (a: CompileAnswer) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }
  >();
  private readonly queue: Array<() => void> = [];
  private busy = false;
  private readonly timeoutMs: number;
  private readonly maxQueued: number;

  constructor(options: PolicyCompilerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxQueued = options.maxQueued ?? 64;
  }

  /** Compiles `input` in the worker. */
  compile(input: PolicySetInput): Promise<CompileAnswer> {
    if (this.queue.length >= this.maxQueued) {
      return Promise.reject(
        new ArgusError('too_many_requests', `${this.queue.length} policy compilations are already waiting; retry later`),
      );
    }
    return new Promise<CompileAnswer>((resolve, reject) => {
      const run = () =>
        this.start(input)
          .then(resolve, reject)
          .finally(() => this.next());
      if (this.busy) this.queue.push(run);
      else run();
    });
  }

  /** Stops the worker (pending compilations are refused). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new UnavailableError('the policy compiler was closed'));
    }
    this.pending.clear();
    if (w) await w.terminate();
  }

  private next(): void {
    this.busy = false;
    const run = this.queue.shift();
    if (run) run();
  }

  private start(input: PolicySetInput): Promise<CompileAnswer> {
    this.busy = true;
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<CompileAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ArgusError('timeout', `policy set not compiled within ${this.timeoutMs} ms`));
        this.restart();
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, input });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // The entry registers tsx itself, so the worker loads TypeScript under any parent (tsx, vitest).
    const worker = new Worker(WORKER_URL, { execArgv: [] });
    worker.unref();
    worker.on('message', (m: { id: number; answer: CompileAnswer }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m.answer);
    });
    const fail = (err: unknown) => {
      // A worker already replaced (after a timeout) has nothing pending any more.
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(new UnavailableError('the policy compiler stopped', err));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit ${code}`)));
    this.worker = worker;
    return worker;
  }

  private restart(): void {
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
  }
}
