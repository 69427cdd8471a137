/**
 * Registry lookups on the decision path, at 10,000 registered agents: what one decision pays to
 * read an agent (trust, owner, capabilities) and its lease, side by side in one run:
 *   floor   — a Map lookup of a pre-built object (what request-supplied entities cost to read)
 *   view    — RegistryView cache hit (the decision path in steady state)
 *   sqlite  — an uncached SQLite read (a cache miss / the first decision after an invalidation)
 *   lease   — an in-process lease read; and a Redis lease read on 127.0.0.1:6379 when reachable
 * Median of 5 alternating repetitions. Run: `npx tsx bench/registry/lookup.ts` (about 20 s).
 */
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { MemoryLeaseStore, openSqlite, RedisLeaseStore, RegistryView, type Agent } from '@argus/store';

const AGENTS = 10_000;
const LOOKUPS = 50_000;
const REPS = 5;

const s = openSqlite(':memory:');
const floor = new Map<string, Agent>();
for (let i = 0; i < AGENTS; i++) {
  const a = await s.registry.createAgent(
    {
      id: `agent-${i}`,
      name: `Agent ${i}`,
      owner: `human-${i % 100}`,
      capabilities: ['crm.read', 'crm.write'],
      labels: { team: `t${i % 10}` },
      trust: 'trusted',
    },
    'bench',
  );
  floor.set(a.id, a);
}
const memLeases = new MemoryLeaseStore();
for (let i = 0; i < AGENTS; i++) await memLeases.renew('agent', `agent-${i}`, 600_000);
const view = new RegistryView({ store: s.registry, leases: memLeases, maxEntries: AGENTS, ttlMs: 600_000 });
for (let i = 0; i < AGENTS; i++) await view.getAgent(`agent-${i}`);

const prefix = testPrefix();
let redisLeases: RedisLeaseStore | undefined = new RedisLeaseStore({ url: SHARED_REDIS_URL, prefix, connectTimeoutMs: 500 });
try {
  await redisLeases.renew('agent', 'agent-0', 600_000);
  for (let i = 1; i < 1_000; i++) await redisLeases.renew('agent', `agent-${i}`, 600_000);
} catch {
  await redisLeases.close();
  redisLeases = undefined;
}

const ids = Array.from({ length: LOOKUPS }, (_, i) => `agent-${(i * 7919) % AGENTS}`);
const cases: Record<string, (n: number) => Promise<void>> = {
  floor: async (n) => {
    for (let i = 0; i < n; i++) if (!floor.get(ids[i]!)) throw new Error('miss');
  },
  view: async (n) => {
    for (let i = 0; i < n; i++) if (!(await view.getAgent(ids[i]!))) throw new Error('miss');
  },
  sqlite: async (n) => {
    for (let i = 0; i < n; i++) if (!(await s.registry.getAgent(ids[i]!))) throw new Error('miss');
  },
  'lease (memory)': async (n) => {
    for (let i = 0; i < n; i++) if ((await memLeases.get('agent', ids[i]!)).state !== 'alive') throw new Error('dead');
  },
  ...(redisLeases
    ? {
        'lease (redis)': async (n: number) => {
          for (let i = 0; i < Math.min(n, 5_000); i++) await redisLeases!.get('agent', `agent-${i % 1_000}`);
        },
      }
    : {}),
};

const results: Record<string, number[]> = {};
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, run] of Object.entries(cases)) {
    const n = name === 'lease (redis)' ? 5_000 : LOOKUPS;
    const t0 = process.hrtime.bigint();
    await run(n);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    (results[name] ??= []).push(ns);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.floor!);
console.log(
  `registry lookups, ${AGENTS} agents, median of ${REPS} reps (${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
);
console.log('| case | per lookup | × floor |');
console.log('|---|---|---|');
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  console.log(`| ${name} | ${m < 1_000 ? `${m.toFixed(0)} ns` : `${(m / 1_000).toFixed(1)} µs`} | ${(m / base).toFixed(1)} |`);
}
console.log(`view stats: ${JSON.stringify(view.stats())}; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
view.close();
await memLeases.close();
if (redisLeases) {
  await redisLeases.close();
  await deleteKeys(SHARED_REDIS_URL, prefix);
}
s.db.close();
