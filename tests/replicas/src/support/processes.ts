import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root (apps run from here, as in the containers). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

/** A child process running one Argus app, with its JSON log lines. */
export interface AppProcess {
  name: string;
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` once listening. */
  url: string;
  /** Every parsed log line so far (stdout and stderr). */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Options of {@link startApp}. */
export interface StartAppOptions {
  name: string;
  /** Script relative to the repository root, run as `node --import tsx <script> ...args`. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  /** Turns a log line into the listening URL once the app reports it. */
  listening: (line: Record<string, unknown>) => string | undefined;
  timeoutMs?: number;
}

/**
 * Spawns an app exactly as a container runs it (`node --import tsx`, cwd = repository root) and
 * resolves once its log says it listens. Rejects with the last log lines when it exits or times out.
 */
export function startApp(options: StartAppOptions): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', options.script, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // 'close' comes after the child's stdout and stderr are read to the end: its last words (a fatal
  // start-up error) are in `raw` by then, which 'exit' does not wait for.
  const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return new Promise<AppProcess>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 90_000} ms: ${raw.slice(-5).join(' | ')}`));
    }, options.timeoutMs ?? 90_000);
    let done = false;
    const onLine = (line: string) => {
      raw.push(line);
      if (raw.length > 200) raw.shift();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(parsed);
      const url = done ? undefined : options.listening(parsed);
      if (url) {
        done = true;
        clearTimeout(timer);
        resolvePromise({
          name: options.name,
          child,
          url,
          logs,
          exited,
          stop: async (graceMs = 15_000) => {
            if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            const code = await exited;
            clearTimeout(killer);
            return code;
          },
        });
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void closed.then((code) => {
      if (done) return;
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code} before listening: ${raw.slice(-5).join(' | ')}`));
    });
  });
}

/** The `url` field of a pino line whose message is `msg`. */
export function urlWhen(msg: string): (line: Record<string, unknown>) => string | undefined {
  return (line) => (line.msg === msg && typeof line.url === 'string' ? line.url : undefined);
}

/** Polls `probe` every `everyMs` until it returns true; resolves with the time it took, or rejects after `timeoutMs`. */
export async function until(probe: () => Promise<boolean>, timeoutMs = 5_000, everyMs = 5): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
