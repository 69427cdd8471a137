/**
 * CPU per call of the proxy before and after a change, on a busy machine: two builds of
 * `argus-proxy.ts` (this checkout's and the one at `ARGUS_B_ROOT`, another checkout of the repo
 * with its own node_modules) and the floor (`floor-proxy.ts`) run side by side on core 0, called
 * in alternating short autocannon rounds (32 connections) from core 1. Each round's CPU per call
 * (user + system time from /proc over the calls served) is kept; the medians are printed, with
 * every round's figure, so that drift and contention hit all three alike, and the median of the
 * per-round ratios (a/b, each side over the floor), which cancel the drift between rounds.
 *
 * Run from the repo root: `ARGUS_B_ROOT=/path/to/other/checkout taskset -c 1 node --import tsx bench/proxy/ab.ts`
 * (`ROUNDS`, default 10, and `ROUND_S`, default 3, set the length). `ARGUS_B_ENV` (e.g.
 * `BENCH_WASM_DECISION=1`) is added to side b's environment only, to compare two modes of one
 * checkout (`ARGUS_B_ROOT=.`).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, loadProxy, startTarget, stopTargets } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const otherRoot = process.env.ARGUS_B_ROOT;
if (!otherRoot) throw new Error('set ARGUS_B_ROOT to the other checkout');
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const ROUND_S = Number(process.env.ROUND_S ?? 3);
const bEnv: Record<string, string> = Object.fromEntries(
  (process.env.ARGUS_B_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

async function round(t: { port: number; pid: number }, seconds: number): Promise<number> {
  const cpu0 = cpuSeconds(t.pid);
  const r = await loadProxy(t.port, seconds);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
  return ((cpuSeconds(t.pid) - cpu0) * 1e6) / r.requests.total;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const up = await startTarget('upstream.ts', 1, { root });
  const target = `http://127.0.0.1:${up.port}`;
  const targets = {
    floor: await startTarget('floor-proxy.ts', 0, { root, args: [target] }),
    a: await startTarget('argus-proxy.ts', 0, { root, args: [target] }),
    b: await startTarget('argus-proxy.ts', 0, { root: otherRoot, args: [target], env: bEnv }),
  };
  for (const t of Object.values(targets)) await round(t, 2);
  const cpu: Record<string, number[]> = { floor: [], a: [], b: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['floor', 'a', 'b'] as const) : (['b', 'a', 'floor'] as const);
    for (const name of order) cpu[name]!.push(await round(targets[name], ROUND_S));
    process.stderr.write(`round ${i + 1}/${ROUNDS}\n`);
  }
  const m = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]));
  const low = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.min(...v)]));
  const line = (name: 'a' | 'b', where: string) =>
    `${name} (${where}) ${Math.round(m[name]!)} µs (${(m[name]! / m.floor!).toFixed(2)}x, lowest ${Math.round(low[name]!)} µs)`;
  process.stdout.write(
    `CPU per call, median of ${ROUNDS} rounds of ${ROUND_S} s: floor ${Math.round(m.floor!)} µs (lowest ${Math.round(low.floor!)} µs), ` +
      `${line('a', root)}, ${line('b', `${otherRoot} ${process.env.ARGUS_B_ENV ?? ''}`.trim())}\n` +
      `a/b per round (paired, so the drift cancels): median ${median(cpu.a!.map((a, i) => a / cpu.b![i]!)).toFixed(3)}, ` +
      `a/floor ${median(cpu.a!.map((a, i) => a / cpu.floor![i]!)).toFixed(2)}x, b/floor ${median(cpu.b!.map((b, i) => b / cpu.floor![i]!)).toFixed(2)}x\n` +
      `rounds: ${JSON.stringify(Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.map(Math.round)])))}\n`,
  );
} finally {
  stopTargets();
}
