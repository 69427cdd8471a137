/**
 * Differential random testing at scale: Argus's production decision path (compilePolicySet, `now`
 * only when the set reads it, sliceFor with pruned attributes, contextFor, evaluate without the
 * schema) against raw cedar-wasm with the schema, every entity and the full context, on random
 * schema-valid policy sets, entity graphs and requests (libs/engine/src/testing/).
 *
 * Usage: npx tsx bench/drt/run.ts [--cases 1000000] [--seconds 3600] [--seed 1] [--requests 20]
 *          [--reference preparsed|plain] [--validate-request]
 * Stops at whichever bound comes first; prints the count, the mismatches (the first five in full),
 * the rejection rate of strict validation, the decision mix and the expression forms covered.
 * Exit code 1 when any mismatch was found.
 */
import { generateCase, rngFromSeed } from '../../libs/engine/src/testing/cedar-arbitraries.ts';
import { emptyStats, runCase } from '../../libs/engine/src/testing/drt.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const maxCases = Number(arg('cases', '1000000'));
const maxSeconds = Number(arg('seconds', '3600'));
const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
const requests = Number(arg('requests', '20'));
const reference = arg('reference', 'preparsed') === 'plain' ? 'plain' : 'preparsed';
const validateRequest = process.argv.includes('--validate-request');

const stats = emptyStats();
const started = Date.now();
let sets = 0;
let nextReport = 10_000;
console.log(
  `drt: seed ${seed}, up to ${maxCases} cases or ${maxSeconds} s, ${requests} requests per set, reference ${reference}${validateRequest ? ' (request validated)' : ''}`,
);
while (stats.cases < maxCases && Date.now() - started < maxSeconds * 1000) {
  runCase(generateCase(rngFromSeed(seed * 1_000_003 + sets), { requests }), stats, { coverage: true, reference, validateRequest });
  sets++;
  if (stats.cases >= nextReport) {
    const s = (Date.now() - started) / 1000;
    console.log(`  ${stats.cases} cases, ${stats.mismatches.length} mismatches, ${s.toFixed(0)} s (${(stats.cases / s).toFixed(0)}/s)`);
    nextReport += 10_000;
  }
}
const seconds = (Date.now() - started) / 1000;
const forms = Object.entries(stats.coverage).sort((a, b) => a[1] - b[1]);
console.log(
  JSON.stringify(
    {
      seed,
      sets,
      cases: stats.cases,
      mismatches: stats.mismatches.length,
      seconds: Math.round(seconds),
      perSecond: Math.round(stats.cases / seconds),
      generatedPolicies: stats.generatedPolicies,
      rejectedPolicies: stats.rejectedPolicies,
      rejectionRate: +(stats.rejectedPolicies / Math.max(1, stats.generatedPolicies)).toFixed(4),
      allows: stats.allows,
      denies: stats.denies,
      withErrors: stats.withErrors,
      expressionForms: forms.length,
      rarestForms: Object.fromEntries(forms.slice(0, 8)),
    },
    null,
    2,
  ),
);
for (const m of stats.mismatches.slice(0, 5)) {
  console.log('--- mismatch');
  console.log(JSON.stringify({ argus: m.argus, cedar: m.cedar, request: m.request, links: m.links }));
  console.log(m.policies.map((p) => p.text).join('\n'));
}
process.exitCode = stats.mismatches.length > 0 ? 1 : 0;
