/**
 * What the proxy benchmarks share: starting a target (a file of `bench/proxy/` that prints
 * `READY <port>`) pinned to a core, the proxied LLM call they send (one chat completion body with
 * the bench agent's token, 32 connections, autocannon), and a process's CPU time from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The request body of a proxied call. */
export const BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Summarize the quarterly report in one sentence.' }],
});

/** A started target. */
export interface Started {
  port: number;
  pid: number;
  child: ChildProcess;
  /** Everything the target printed so far. */
  out: () => string;
}

/** Options of {@link startTarget}. */
export interface StartOptions {
  /** Arguments after the file. */
  args?: string[];
  /** Node flags before `--import tsx`. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** The checkout whose `bench/proxy/<file>` runs (default: this one). */
  root?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const started: ChildProcess[] = [];

/** Starts `bench/proxy/<file>` pinned to `core`; resolves once it prints `READY <port>` (30 s at most). */
export function startTarget(file: string, core: number, options: StartOptions = {}): Promise<Started> {
  const root = options.root ?? join(here, '../..');
  const child = spawn(
    'taskset',
    [
      '-c',
      String(core),
      process.execPath,
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      join(root, 'bench/proxy', file),
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, env: { ...process.env, ...options.env } },
  );
  started.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), pid: child.pid!, child, out: () => out });
    });
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    setTimeout(() => reject(new Error(`${file} did not start`)), 30_000).unref();
  });
}

/** Stops every target started. */
export function stopTargets(): void {
  for (const c of started) c.kill('SIGTERM');
}

/** User + system CPU seconds of a process so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Drives the proxy at `port` with 32 connections for `seconds`. */
export function loadProxy(port: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}/openai/v1/chat/completions`,
    method: 'POST',
    connections: 32,
    duration: seconds,
    headers: { authorization: 'Bearer argus_bench_token', 'content-type': 'application/json' },
    body: BODY,
  });
}
