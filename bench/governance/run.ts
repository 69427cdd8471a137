/**
 * Governance benchmark, two parts, each side by side with its floor in one run (alternating reps,
 * median of N):
 * 1. In-process: `evaluateGovernance` for a three-hop chain + goal + intent (what a decision pays
 *    for governance) vs the floor — one raw cedar-wasm `statefulIsAuthorized` decision (preparsed,
 *    10 policies) over the entities and context governance produced. The ratio says how much
 *    governance adds to the Cedar decision it feeds.
 * 2. Redis: `RedisBudgetCounter.consume` (one Lua check-and-consume) vs the floor — a plain
 *    `INCR` round trip on the same connection.
 * Each rep of each target runs in its own child process (see the INVARIANT below).
 * Usage: taskset -c 0 npx tsx bench/governance/run.ts [--quick]   (needs Redis on 127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Redis } from 'ioredis';
import { budgetLeft, evaluateGovernance, grantLookupFrom, type GovernanceInput } from '@argus/governance';
import { RedisBudgetCounter } from '../../libs/store/src/counters/index.ts';
import { catalogue, chain3, crmSearch, goal, grants3, supportBot, T0 } from '../../libs/governance/src/testing/fixture.ts';

const quick = process.argv.includes('--quick');
const REPS = quick ? 3 : 5;
const REP_MS = quick ? 300 : 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// INVARIANT: each target is measured in its own process. Running the governance loop and the
// cedar-wasm loop in one process made V8 (Node 20.20) abort with a fatal error in its deoptimizer.
function measureGovernance(): number {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) governance();
    n += 50;
  }
  return ((performance.now() - t0) * 1000) / n;
}

function measureCedar(): number {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) floor();
    n += 50;
  }
  return ((performance.now() - t0) * 1000) / n;
}

async function measureAsync(fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

// ---- 1. in-process -------------------------------------------------------------------------
const input: GovernanceInput = {
  principal: supportBot,
  action: 'tool:call',
  resource: crmSearch,
  intent: 'lookup-order-status',
  goal: 'goal-7f3a',
  chain: chain3,
  now: T0,
  maxDepth: 5,
  requireIntent: true,
};
const grants = grants3();
const source = {
  grant: grantLookupFrom(grants, T0),
  goal: () => goal(),
  budgetLeft: budgetLeft(goal().budget, { actions: 1, tokens: 0, costUsd: 0 }),
  intents: catalogue,
  agentRecord: { id: 'support-bot', trust: 'trusted', owner: 'alice', capabilities: [], kind: 'llm-agent', leaseAlive: true },
};
const governance = () => {
  const out = evaluateGovernance(input, { ...source, grant: grantLookupFrom(grants, T0) });
  if (out.hardDeny) throw new Error(out.hardDeny.message);
  return out;
};
const sample = governance();
const policies: Record<string, string> = {};
for (let i = 0; i < 10; i++) {
  policies[`p${i}`] = `permit (principal in Argus::Human::"alice", action == Argus::Action::"tool:call", resource is Argus::Tool)
    when { context.delegation.depth <= ${i + 3} && resource.sensitivity == "low" && context.intent == "lookup-order-status" };`;
}
const schema = readFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), 'utf8');
const prep = cedar.preparsePolicySet('bench-gov', { staticPolicies: policies });
if (prep.type !== 'success') throw new Error(JSON.stringify(prep));
cedar.preparseSchema('bench-gov-schema', schema);
const cedarCall = {
  principal: { type: 'Argus::Agent', id: 'support-bot' },
  action: { type: 'Argus::Action', id: 'tool:call' },
  resource: { type: 'Argus::Tool', id: 'crm.search' },
  context: { ...sample.context, now: { __extn: { fn: 'datetime', arg: new Date(T0).toISOString() } } },
  entities: [
    ...sample.entities,
    { uid: { type: 'Argus::Tool', id: 'crm.search' }, attrs: { sensitivity: 'low', serverTrust: 'none' }, parents: [] },
  ],
  preparsedPolicySetId: 'bench-gov',
};
const floor = () => {
  const a = cedar.statefulIsAuthorized(cedarCall as never);
  if (a.type !== 'success' || a.response.decision !== 'allow') throw new Error(JSON.stringify(a));
};

const part = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length);

// ---- 2. Redis ------------------------------------------------------------------------------
async function redisRep(which: 'lua' | 'incr'): Promise<number> {
  const prefix = `argus-bench:${randomBytes(4).toString('hex')}:`;
  const client = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const counter = new RedisBudgetCounter(client, { prefix });
  const limits = { maxActions: 1e12, maxTokens: 1e12, maxCostUsd: 1e6 };
  const op = which === 'lua' ? () => counter.consume('g', { actions: 1, costUsd: 0.0001 }, limits) : () => client.incr(`${prefix}floor`);
  for (let i = 0; i < 500; i++) await op();
  const us = await measureAsync(op);
  await client.del(`${prefix}budget:g`, `${prefix}floor`);
  await client.quit();
  return us;
}

if (part !== undefined) {
  // Child: warm up, measure one rep of one target, print µs/op.
  let us: number;
  if (part === 'gov') {
    for (let i = 0; i < 3000; i++) governance();
    us = measureGovernance();
  } else if (part === 'cedar') {
    for (let i = 0; i < 3000; i++) floor();
    us = measureCedar();
  } else {
    us = await redisRep(part as 'lua' | 'incr');
  }
  process.stdout.write(`${us}\n`);
  process.exit(0);
}

// Parent: each rep of each target runs in its own process (see the INVARIANT above), alternating.
const { execFileSync } = await import('node:child_process');
const runPart = (p: string) =>
  Number(
    execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, `--part=${p}`, ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
    }).trim(),
  );
const gov: number[] = [];
const ced: number[] = [];
const lua: number[] = [];
const inc: number[] = [];
for (let r = 0; r < REPS; r++) {
  gov.push(runPart('gov'));
  ced.push(runPart('cedar'));
  lua.push(runPart('lua'));
  inc.push(runPart('incr'));
}

const f = (x: number) => x.toFixed(1);
console.log(`date: ${new Date().toISOString()}  reps: ${REPS} x ${REP_MS} ms  node ${process.version}`);
console.log('| measurement | argus µs/op (median) | floor µs/op (median) | ratio |');
console.log('|---|---|---|---|');
console.log(
  `| evaluateGovernance (3-hop chain, goal, intent) vs one cedar-wasm decision (10 policies, same entities) | ${f(median(gov))} | ${f(median(ced))} | ${(median(gov) / median(ced)).toFixed(2)} |`,
);
console.log(
  `| RedisBudgetCounter.consume (Lua) vs plain INCR round trip | ${f(median(lua))} | ${f(median(inc))} | ${(median(lua) / median(inc)).toFixed(2)} |`,
);
console.log('(each rep in its own process; peak RSS of the parent is not meaningful here)');
