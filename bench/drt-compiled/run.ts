/**
 * Differential random testing of the compiled evaluator against cedar-wasm at scale: generated
 * policy sets, entity graphs and requests (libs/engine/src/compiled/testing and the engine's shared
 * generator libs/engine/src/testing/cedar-arbitraries.ts), every request
 * compared on decision, determining policy ids and erroring policy ids.
 * Reports the number of requests compared, how many went to cedar-wasm, and every mismatch
 * (written in full to OUT, default /tmp/argus-drt-mismatches.jsonl). Exit 1 on any mismatch.
 * Usage: npx tsx bench/drt-compiled/run.ts [--cases 1000000] [--seed 1] [--minutes 60]
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { drtCase } from '../../libs/engine/src/compiled/testing/drt-arbitraries.ts';
import { emptyStats, runCase, runGeneratedCase } from '../../libs/engine/src/compiled/testing/drt.ts';
import { generateCase, rngFromSeed } from '../../libs/engine/src/testing/cedar-arbitraries.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const target = arg('cases', 1_000_000);
const seed0 = arg('seed', 1);
const deadline = Date.now() + arg('minutes', 600) * 60_000;
const out = process.env.OUT ?? '/tmp/argus-drt-mismatches.jsonl';
writeFileSync(out, '');

const stats = emptyStats();
let reported = 0;
let batch = 0;
const t0 = Date.now();
while (stats.cases < target && Date.now() < deadline) {
  // Both generators: this module's (error cases, extension values) and the engine's shared one (every EST form).
  const seed = seed0 * 1_000_003 + batch++;
  for (const c of fc.sample(drtCase, { numRuns: 150, seed })) runCase(c, stats);
  for (let i = 0; i < 25; i++) runGeneratedCase(generateCase(rngFromSeed(seed * 31 + i)), stats);
  // Every mismatch goes to the file; memory stays flat over a long run.
  for (const m of stats.mismatches) appendFileSync(out, JSON.stringify(m) + '\n');
  reported += stats.mismatches.length;
  stats.mismatches.length = 0;
  if (batch % 5 === 0)
    process.stderr.write(`${stats.cases} requests, ${reported} mismatches, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
}
const secs = (Date.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({
    requests: stats.cases,
    mismatches: reported,
    fallbacksToCedarWasm: stats.fallbacks,
    unparsedCases: stats.unparsed,
    cedarWasmRefusedInput: stats.oracleFailures,
    allow: stats.allow,
    withPolicyErrors: stats.withErrors,
    unsupportedPolicies: stats.unsupportedPolicies,
    seconds: Math.round(secs),
    mismatchFile: out,
  })}\n`,
);
process.exit(reported > 0 ? 1 : 0);
