/**
 * Profile helper: runs only the compiled path of bench/engine/compiled.ts for a few seconds.
 * Usage: npx tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/engine/compiled-profile.ts
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compilePolicySet, evaluate, type EvaluationRequest } from '@argus/engine';
import { generate } from '../policies/generate.ts';

const schema = readFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), 'utf8');
const A = (type: string, id: string) => ({ type: `Argus::${type}`, id });
const request: EvaluationRequest = {
  principal: A('Agent', 'agent-7'),
  action: A('Action', 'tool:call'),
  resource: A('Tool', 'tool/summarizer'),
  context: {
    intent: 'research',
    delegation: { depth: 0, scope: [] },
    now: { __extn: { fn: 'datetime', arg: '2026-11-25T10:00:00.000Z' } },
  },
  entities: [
    {
      uid: A('Agent', 'agent-7'),
      attrs: { trust: 'trusted', kind: 'assistant', capabilities: [], leaseAlive: true, owner: { __entity: A('Human', 'alice') } },
      parents: [],
    },
    { uid: A('Human', 'alice'), attrs: { roles: ['support'] }, parents: [] },
    { uid: A('McpServer', 'tool'), attrs: { trust: 'trusted' }, parents: [] },
    {
      uid: A('Tool', 'tool/summarizer'),
      attrs: { sensitivity: 'internal', allowedIntents: ['research', 'translate'], serverTrust: 'trusted' },
      parents: [A('McpServer', 'tool')],
    },
  ],
};
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
