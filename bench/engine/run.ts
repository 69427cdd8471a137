/**
 * Engine benchmark: Argus's `evaluate` (partitioned, preparsed, sliced) vs the floor — raw cedar-wasm
 * `statefulIsAuthorized` on the whole preparsed set with the same entity slice, no per-request
 * schema on either side (the production default) — at 10,
 * 100, 1,000 and 10,000 policies, alternating in one run. Median of 5 reps of ~1 s each.
 * Usage: taskset -c 0 npx tsx bench/engine/run.ts [--quick]
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilePolicySet, evaluate } from '@argus/engine';
import { generate } from '../policies/generate.ts';
import { request } from './fixture.ts';

const schema = readFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), 'utf8');
const quick = process.argv.includes('--quick');
const SIZES = quick ? [10, 1000] : [10, 100, 1000, 10000];
const REPS = quick ? 3 : 5;
const REP_MS = quick ? 300 : 1000;

function measure(fn: () => unknown): number {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return ((performance.now() - t0) * 1000) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[] = [];
for (const n of SIZES) {
  const texts = generate(n);
  const compiled = compilePolicySet({ schema, policies: [{ file: 'bench.cedar', text: texts.join('\n\n') }] });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.diagnostics.slice(0, 3)));
  const set = compiled.policySet;
  const whole = Object.fromEntries(set.staticTexts);
  if (cedar.preparsePolicySet(`bench-floor-${n}`, { staticPolicies: whole }).type !== 'success') throw new Error('preparse');
  // Both sides as production runs them: no per-request schema (policies are validated at load).
  const floor = () => cedar.statefulIsAuthorized({ ...request, preparsedPolicySetId: `bench-floor-${n}` } as never);
  const ours = () => evaluate(set, request, { validateRequest: false });
  const a = ours();
  const b = floor();
  if (b.type !== 'success' || a.decision !== b.response.decision)
    throw new Error(`answers differ at ${n}: ${a.decision} vs ${JSON.stringify(b)}`);
  const fs: number[] = [];
  const os: number[] = [];
  for (let r = 0; r < REPS; r++) {
    fs.push(measure(floor));
    os.push(measure(ours));
  }
  const f = median(fs);
  const o = median(os);
  rows.push(`| ${n.toLocaleString('en')} | ${a.evaluated} | ${f.toFixed(1)} | ${o.toFixed(1)} | ${(o / f).toFixed(2)}× |`);
  process.stderr.write(`n=${n} floor=${f.toFixed(1)}µs argus=${o.toFixed(1)}µs evaluated=${a.evaluated}\n`);
}
const base = rows[0]!;
process.stdout.write(
  [
    `engine benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, median of ${REPS} × ${REP_MS} ms`,
    '',
    '| policies | evaluated by Argus | floor: whole set, µs/decision | Argus evaluate, µs/decision | Argus / floor |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `(first row is the curve's base: ${base.split('|')[4]?.trim()} µs)`,
    '',
  ].join('\n'),
);
