/**
 * Profile helper: runs only the compiled path of bench/engine/compiled.ts for a few seconds.
 * Usage: npx tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/engine/compiled-profile.ts
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilePolicySet, evaluate } from '@argus/engine';
import { generate } from '../policies/generate.ts';
import { request } from './fixture.ts';

const schema = readFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), 'utf8');
const r = compilePolicySet({ schema, policies: [{ file: 'bench.cedar', text: generate(Number(process.argv[2] ?? 10)).join('\n\n') }] });
if (!r.ok) throw new Error('compile');
const end = performance.now() + Number(process.argv[3] ?? 5000);
let n = 0;
const t0 = performance.now();
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) evaluate(r.policySet, request, { validateRequest: false });
  n += 100;
}
process.stdout.write(`${(((performance.now() - t0) * 1000) / n).toFixed(2)} µs per decision\n`);
