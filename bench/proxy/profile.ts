/**
 * Where the proxy's CPU goes: runs one proxy target (`argus`, `floor` or `serve`) under
 * `node --cpu-prof` on core 0, drives it with autocannon (32 connections) from core 1, then prints
 * the CPU per call (from /proc) and the functions with the most self time, grouped by source.
 *
 * Run from the repo root: `taskset -c 1 node --import tsx bench/proxy/profile.ts [argus|floor|serve] [seconds]`.
 * Only the samples of the measured run count (not the start-up or the warm-up); besides the self
 * time, the inclusive time of each function is printed in µs per call (its share of the busy
 * samples times the measured CPU per call). `PROFILE_INTERVAL_US` sets the sampling interval
 * (default 250); `PROFILE_MATCH` (a regular expression) narrows the inclusive list; `ARGUS_ENV`
 * (e.g. `BENCH_JS_DECISION=1`) is added to the proxy's environment.
 * The profile is left in a temporary directory (its path is printed) for a closer look.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, loadProxy, startTarget, stopTargets } from './harness.ts';

const which = process.argv[2] ?? 'argus';
const seconds = Number(process.argv[3] ?? 10);
const FILES: Record<string, string> = { argus: 'argus-proxy.ts', floor: 'floor-proxy.ts', serve: 'argus-serve.ts' };
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const extraEnv: Record<string, string> = Object.fromEntries(
  (process.env.ARGUS_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const interval = process.env.PROFILE_INTERVAL_US ?? '250';
const dir = mkdtempSync(join(tmpdir(), 'argus-proxy-profile-'));
const up = await startTarget('upstream.ts', 1);
// The profile is written on a normal exit: SIGTERM must exit (argus-proxy.ts does; the others get a handler).
const exitOnTerm = `--import=data:text/javascript,process.on('SIGTERM',()=>process.exit(0))`;
const proxy = await startTarget(FILES[which]!, 0, {
  args: [`http://127.0.0.1:${up.port}`],
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${interval}`, exitOnTerm],
  env: extraEnv,
});
const run = (duration: number) => loadProxy(proxy.port, duration);
await run(2);
const cpu0 = cpuSeconds(proxy.child.pid!);
const t0 = performance.now();
const result = await run(seconds);
const measuredUs = (performance.now() - t0) * 1000;
const cpuUs = ((cpuSeconds(proxy.child.pid!) - cpu0) * 1e6) / result.requests.total;
const t1 = performance.now();
process.stdout.write(`${which}: ${Math.round(result.requests.average)} req/s, ${Math.round(cpuUs)} µs CPU per call (profiler on)\n`);
await new Promise<void>((resolve) => {
  proxy.child.once('exit', () => resolve());
  proxy.child.kill('SIGTERM');
});
const tailUs = (performance.now() - t1) * 1000;
stopTargets();

// One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
if (!file) throw new Error(`no profile in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;

// The samples of the measured run: those in the window that ends where the shutdown began.
const hits = new Map<number, number>();
{
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const to = profile.endTime - tailUs;
  const from = to - measuredUs;
  profile.samples.forEach((id, i) => {
    if (times[i]! >= from && times[i]! <= to) hits.set(id, (hits.get(id) ?? 0) + 1);
  });
}
const IDLE = new Set(['(idle)', '(program)']);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const sourceOf = (url: string) =>
  url === '' ? '(native/vm)' : url.startsWith('node:') ? 'node core' : url.split('/').slice(0, 3).join('/');
const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'node_modules/')
    .replace(/.*\/(libs|apps|bench)\//, '$1/');
const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
let busy = 0;
const byFunction = new Map<string, number>();
const bySource = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, h] of hits) {
  const n = byId.get(id)!;
  if (IDLE.has(n.callFrame.functionName)) continue;
  busy += h;
  byFunction.set(keyOf(n), (byFunction.get(keyOf(n)) ?? 0) + h);
  const source = sourceOf(shortUrl(n.callFrame.url));
  bySource.set(source, (bySource.get(source) ?? 0) + h);
  // Each function once per stack (recursion counted once).
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const k = keyOf(byId.get(at)!);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + h);
  }
}
// A function's µs per call: its share of the busy samples times the CPU per call.
const us = (v: number) => `${((v / busy) * cpuUs).toFixed(1).padStart(6)} µs`;
const match = process.env.PROFILE_MATCH ? new RegExp(process.env.PROFILE_MATCH) : undefined;
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .filter(([k]) => !match || m !== inclusive || match.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / busy).toFixed(1).padStart(5)} % ${us(v)}  ${k}`)
    .join('\n');
process.stdout.write(
  `\n${busy} busy samples in the measured run, per call ${cpuUs.toFixed(0)} µs\n` +
    `\nself time by source\n${top(bySource, 25)}\n\nself time by function\n${top(byFunction, 45)}\n` +
    `\ninclusive time by function\n${top(inclusive, 90)}\n\nprofile: ${join(dir, file)}\n`,
);
