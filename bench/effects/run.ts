/**
 * Effects benchmark, each part side by side with its floor in one run (alternating reps, median):
 * 1. Decision overhead of the effects hooks: `DecisionService.decide` with `createDecisionEffects`
 *    (quota usage read before and hit after each allowed decision) vs the same service without
 *    hooks. Twice: in-process window counters (embedded mode), then Redis window counters.
 * 2. `applyObligations` (redact 3 field names + max_items) on a ~25 KB JSON tool result vs the
 *    floor `structuredClone` of the same body (the least a non-mutating deep rewrite costs).
 * Usage: taskset -c 0 npx tsx bench/effects/run.ts [--quick]   (needs Redis on 127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from '@argus/store';
import { applyObligations } from '../../libs/apdp/src/effects/obligations.ts';
import { buildWorld, call, seed, type World } from '../../libs/apdp/src/effects/testing/world.ts';

const quick = process.argv.includes('--quick');
const REPS = quick ? 3 : 5;
const REP_MS = quick ? 400 : 1500;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function perOp(fn: () => Promise<unknown> | unknown): Promise<number> {
  const end = performance.now() + REP_MS;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

async function sideBySide(
  label: string,
  target: () => Promise<unknown> | unknown,
  floor: () => Promise<unknown> | unknown,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    await target();
    await floor();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < REPS; r++) {
    a.push(await perOp(target));
    b.push(await perOp(floor));
  }
  const row = `| ${label} | ${median(a).toFixed(1)} µs | ${median(b).toFixed(1)} µs | ${(median(a) / median(b)).toFixed(2)}× |`;
  console.log(row);
  return row;
}

// The same policies on both sides (the hooks read and count usage whether or not a policy uses it).
const POLICIES = [
  '@id("allow-internal") permit (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "internal" };',
  '@id("no-secret") forbid (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "secret" };',
].join('\n');

async function decisionOverhead(label: string, counters: WindowCounter): Promise<string> {
  const withHooks: World = await buildWorld({ policies: POLICIES, counters });
  const without: World = await buildWorld({ policies: POLICIES, effects: false });
  await seed(withHooks);
  await seed(without);
  let i = 0;
  const input = () => call(`crm.${i++ % 64}`);
  const check = (r: { result: { allow: boolean } }) => {
    if (!r.result.allow) throw new Error('expected allow');
  };
  const row = await sideBySide(
    label,
    async () => check(await withHooks.decide(input())),
    async () => check(await without.decide(input())),
  );
  await withHooks.close();
  await without.close();
  return row;
}

function toolResult(): unknown {
  const rows = Array.from({ length: 120 }, (_, i) => ({
    id: i,
    name: `Customer ${i}`,
    email: `c${i}@example.com`,
    ssn: `000-00-${1000 + i}`,
    orders: [{ id: `o${i}`, total: i * 3.5, items: ['a', 'b', 'c'] }],
    notes: 'x'.repeat(60),
  }));
  return { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'ok' }], structuredContent: { rows, page: { size: 120 } } } };
}

console.log(`# effects benchmark (${new Date().toISOString()}, node ${process.version}, reps ${REPS} × ${REP_MS} ms, median)`);
console.log('| case | Argus | floor | ratio |');
console.log('|---|---|---|---|');
await decisionOverhead('decide() with effects hooks, in-process counters vs no hooks', new MemoryWindowCounter());
const prefix = `argus-bench:${randomBytes(4).toString('hex')}:`;
const client = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
try {
  await decisionOverhead('decide() with effects hooks, Redis counters vs no hooks', new RedisWindowCounter(client, { prefix }));
} finally {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
  await client.quit();
}
const body = toolResult();
console.log(`(tool result body: ${JSON.stringify(body).length} bytes)`);
await sideBySide(
  'applyObligations(redact ssn,email,phone + max_items 50) vs structuredClone',
  () => applyObligations(body, { redact: ['ssn', 'email', 'phone'], max_items: 50 }),
  () => structuredClone(body),
);
await sideBySide(
  'applyObligations(redact ssn,email,phone only) vs structuredClone',
  () => applyObligations(body, { redact: ['ssn', 'email', 'phone'] }),
  () => structuredClone(body),
);
