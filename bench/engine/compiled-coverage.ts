/**
 * Which policies of a policy directory the compiled evaluator supports (the rest go to cedar-wasm).
 * Usage: npx tsx bench/engine/compiled-coverage.ts [DIR]   (default: cedar/, the shipped policies)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compilePolicySet } from '@argus/engine';
import { compiledPolicies } from '../../libs/engine/src/compiled/index.ts';

const dir = resolve(process.argv[2] ?? resolve(import.meta.dirname, '../../cedar'));
const policyDir = join(dir, 'policies');
const policies = readdirSync(policyDir)
  .filter((f) => f.endsWith('.cedar'))
  .map((file) => ({ file, text: readFileSync(join(policyDir, file), 'utf8') }));
const r = compilePolicySet({ schema: readFileSync(join(dir, 'schema.cedarschema'), 'utf8'), policies });
if (!r.ok) throw new Error(JSON.stringify(r.diagnostics.slice(0, 3)));
const compiled = compiledPolicies(r.policySet);
let supported = 0;
for (const id of r.policySet.policies.keys()) {
  if (r.policySet.policies.get(id)!.template) continue;
  if (compiled.policy(id)) supported++;
}
process.stdout.write(
  `${supported} of ${r.policySet.policies.size} policies compiled; unsupported: ${JSON.stringify(Object.fromEntries(compiled.unsupported))}\n`,
);
