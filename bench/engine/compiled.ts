/**
 * Compiled evaluation benchmark: µs per decision at 10, 100, 1,000 and 10,000 policies, in one
 * process, alternating rep by rep:
 *   raw        cedar-wasm `statefulIsAuthorized` on the whole preparsed set (the floor of a wasm call)
 *   argus-wasm Argus `evaluate` with the compiled path off (partitioned, preparsed partition)
 *   compiled   Argus `evaluate` with the compiled path on (partitioned, compiled closures)
 *   closures   the compiled evaluator alone on the request's partition (no `evaluate` around it)
 *   memo-hit   Argus `evaluate` answering from the DecisionMemo (the same body every time: its best case)
 *   memo-miss  Argus `evaluate`, compiled, through a DecisionMemo that never hits (a new context each call)
 * No per-request schema on any side (the production default). Median of REPS reps of REP_MS each.
 * Usage: taskset -c 0 npx tsx bench/engine/compiled.ts [--quick]
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilePolicySet, DecisionMemo, evaluate, requestAnchors } from '@argus/engine';
import { compiledPolicies } from '../../libs/engine/src/compiled/index.ts';
import { partitionKey } from '../../libs/engine/src/partition.ts';
import { generate } from '../policies/generate.ts';
import { request } from './fixture.ts';

const schema = readFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), 'utf8');
const quick = process.argv.includes('--quick');
const SIZES = quick ? [10, 1000] : [10, 100, 1000, 10000];
const REPS = quick ? 3 : 5;
const REP_MS = quick ? 300 : 1000;

/**
 * µs per call, as CPU time of this process (user + system): on a shared, loaded machine wall time
 * mostly measures the wait for a core, CPU time what a call costs. Wall time is kept beside it.
 */
function measure(fn: () => unknown): { cpu: number; wall: number } {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / n, wall: ((performance.now() - t0) * 1000) / n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[] = [];
for (const n of SIZES) {
  const compiled = compilePolicySet({ schema, policies: [{ file: 'bench.cedar', text: generate(n).join('\n\n') }] });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.diagnostics.slice(0, 3)));
  const set = compiled.policySet;
  if (cedar.preparsePolicySet(`bench-compiled-floor-${n}`, { staticPolicies: Object.fromEntries(set.staticTexts) }).type !== 'success')
    throw new Error('preparse');
  const raw = () => cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: `bench-compiled-floor-${n}` } as never);
  const wasm = () => evaluate(set, request, { validateRequest: false, compiled: false });
  const fast = () => evaluate(set, request, { validateRequest: false, compiled: {} });
  const { buckets } = partitionKey(set.index, requestAnchors(request));
  const ids = buckets.flat();
  const closures = () => compiledPolicies(set).authorize(ids, request);
  const memo = new DecisionMemo(1000);
  const memoHit = () => evaluate(set, request, { validateRequest: false, compiled: false, memo });
  const missMemo = new DecisionMemo(1000);
  let k = 0;
  const memoMiss = () =>
    evaluate(set, { ...request, context: { ...request.context, seq: k++ } }, { validateRequest: false, memo: missMemo });

  const r = raw();
  const w0 = wasm();
  const c = fast();
  const d = closures();
  if (r.type !== 'success' || d === undefined)
    throw new Error(`no answer at ${n}: ${JSON.stringify(r)} ${JSON.stringify(compiledPolicies(set).unsupported)}`);
  const same =
    [w0.decision, c.decision, d.response.decision].every((x) => x === r.response.decision) &&
    JSON.stringify(w0.determining) === JSON.stringify(c.determining);
  if (!same) throw new Error(`answers differ at ${n}`);
  memoHit();
  const series: Record<string, Array<{ cpu: number; wall: number }>> = {
    raw: [],
    wasm: [],
    compiled: [],
    closures: [],
    memo: [],
    miss: [],
  };
  // Warm-up (JIT, caches), not counted.
  for (const fn of [raw, fast, wasm, closures, memoHit, memoMiss]) measure(fn);
  for (let rep = 0; rep < REPS; rep++) {
    series.raw!.push(measure(raw));
    series.compiled!.push(measure(fast));
    series.wasm!.push(measure(wasm));
    series.closures!.push(measure(closures));
    series.memo!.push(measure(memoHit));
    series.miss!.push(measure(memoMiss));
  }
  const m = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v.map((x) => x.cpu))])) as Record<string, number>;
  const w = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v.map((x) => x.wall))])) as Record<string, number>;
  rows.push(
    `| ${n.toLocaleString('en')} | ${c.evaluated} | ${m.raw!.toFixed(1)} | ${m.wasm!.toFixed(1)} | **${m.compiled!.toFixed(1)}** | ${m.closures!.toFixed(1)} | ${m.memo!.toFixed(1)} | ${m.miss!.toFixed(1)} | ${(m.raw! / m.compiled!).toFixed(1)}× |`,
  );
  process.stderr.write(
    `n=${n} cpu µs: raw=${m.raw!.toFixed(1)} argus-wasm=${m.wasm!.toFixed(1)} compiled=${m.compiled!.toFixed(1)} closures=${m.closures!.toFixed(1)} memo-hit=${m.memo!.toFixed(1)} memo-miss=${m.miss!.toFixed(1)}\n`,
  );
  process.stderr.write(
    `n=${n} wall µs: raw=${w.raw!.toFixed(1)} argus-wasm=${w.wasm!.toFixed(1)} compiled=${w.compiled!.toFixed(1)} closures=${w.closures!.toFixed(1)} memo-hit=${w.memo!.toFixed(1)} memo-miss=${w.miss!.toFixed(1)}\n`,
  );
}
process.stdout.write(
  [
    `compiled evaluation benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, median of ${REPS} × ${REP_MS} ms, alternating; CPU µs per decision (wall time on stderr)`,
    '',
    '| policies | evaluated (partition) | raw statefulIsAuthorized, whole set, µs | Argus evaluate, cedar-wasm, µs | Argus evaluate, compiled, µs | compiled closures alone, µs | memo hit, µs | compiled + memo miss, µs | raw / compiled |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
