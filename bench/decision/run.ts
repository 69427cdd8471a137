/**
 * Decision-path benchmark (in process, no HTTP): `DecisionService.decide` for the Cerbos-equivalent
 * scenario with 10,000 registered agents, measured side by side in one run:
 *   floor      — the engine alone: `evaluate` with the entity slice built by hand (no registry, no governance)
 *   request    — decide(): principal from the registry (cache hit), tool attributes from the request
 *   registry   — decide(): principal and tool server from the registry (cache hit)
 *   cold       — decide(): a different registered agent each call, cache of 1,000 entries → mostly SQLite reads
 *   audit      — `registry` with the audit trail on (async, SQLite sink)
 * Median of 5 reps. Usage: taskset -c 0 npx tsx bench/decision/run.ts [--quick]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAuditTrail, createSinks, parseAuditConfig } from '@argus/audit';
import { PolicyHolder, readPolicyDir } from '@argus/apdp';
import { createGovernanceStep, DecisionService, type RegistryReader } from '@argus/decision';
import { evaluate, sliceEntities, uidKey } from '@argus/engine';
import type { DecisionRecorder } from '@argus/contracts';
import type { IntentCatalogue } from '@argus/governance';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { createRegistryView, MemoryBudgetCounter, MemoryEventBus, MemoryLeaseStore, openStorage, toolHash } from '@argus/store';
import { ALLOW_BODY, writePolicyDir } from '../policies/generate.ts';

const quick = process.argv.includes('--quick');
const REPS = quick ? 3 : 5;
const REP_MS = quick ? 300 : 1000;
const AGENTS = 10_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = mkdtempSync(join(tmpdir(), 'argus-bench-decision-'));
writePolicyDir(10, join(work, 'p10'));
const storage = await openStorage(`sqlite:${join(work, 'argus.db')}`);
const leases = new MemoryLeaseStore();
const events = new MemoryEventBus();
await storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
for (let i = 0; i < AGENTS; i++)
  await storage.registry.createAgent({ id: `agent-${i}`, name: `agent ${i}`, owner: 'alice', trust: 'trusted' }, 'bench');
await storage.registry.createAgent({ id: 'agent-7x', name: 'bench', owner: 'alice', trust: 'trusted' }, 'bench');
const tools = [{ name: 'summarizer', description: 'summarize text', inputSchema: { type: 'object' } }];
await storage.registry.createMcpServer(
  { id: 'tool', name: 'tool', url: 'http://127.0.0.1:9/mcp', trust: 'trusted', tools: tools.map((t) => ({ ...t, hash: toolHash(t) })) },
  'bench',
);

const holder = new PolicyHolder();
const loaded = holder.replace(await readPolicyDir(join(work, 'p10')), 'directory');
if (!loaded.ok) throw new Error('policies');
const intents = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../cedar/intents.json'), 'utf8')) as IntentCatalogue;

function service(cacheEntries: number, recorder?: DecisionRecorder) {
  const view = createRegistryView({ store: storage.registry, leases, events, maxEntries: cacheEntries, ttlMs: 60_000 });
  const registry: RegistryReader = {
    getAgent: (id) => view.getAgent(id),
    getHuman: (id) => view.getHuman(id),
    getMcpServer: (id) => view.getMcpServer(id),
    leaseState: async (k, id) => (await view.leaseState(k, id)).state,
  };
  return new DecisionService({
    policies: holder,
    registry,
    governance: createGovernanceStep({
      delegations: storage.delegations,
      goals: storage.goals,
      budget: new MemoryBudgetCounter(),
      intents,
      registry,
      maxDepth: 4,
      requireIntent: false,
    }),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    logger: silentLogger(),
    decisionTimeoutMs: 5000,
    ...(recorder ? { recorder } : {}),
  });
}

const auditDir = join(work, 'audit');
const auditConfig = parseAuditConfig({
  sinks: [{ type: 'sqlite', path: join(auditDir, 'audit.db') }],
  spill: { dir: join(auditDir, 'spill') },
});
const trail = await createAuditTrail(auditConfig, { sinks: (await createSinks(auditConfig)).sinks });

const warm = service(20_000);
const cold = service(1_000);
const audited = service(20_000, trail);
const caller = { kind: 'bench' };
const byRequest = ALLOW_BODY.input;
const byRegistry = { ...ALLOW_BODY.input, resource: { ...ALLOW_BODY.input.resource } };
let n = 0;

// The floor: the engine on a hand-built slice equal to what decide() passes.
const set = holder.current!.set;
const A = (type: string, id: string) => ({ type: `Argus::${type}`, id });
const floorEntities = new Map(
  [
    {
      uid: A('Agent', 'agent-1'),
      attrs: { trust: 'trusted', kind: 'agent', capabilities: [], leaseAlive: false, owner: { __entity: A('Human', 'alice') } },
      parents: [],
    },
    { uid: A('Human', 'alice'), attrs: { roles: ['support'], email: 'alice@example.com' }, parents: [] },
    { uid: A('McpServer', 'tool'), attrs: { trust: 'trusted' }, parents: [] },
    {
      uid: A('Tool', 'tool/summarizer'),
      attrs: { sensitivity: 'internal', allowedIntents: ['research', 'translate'], serverTrust: 'trusted', descriptionHash: 'x' },
      parents: [A('McpServer', 'tool')],
    },
  ].map((e) => [uidKey(e.uid), e]),
);
const floorRequest = {
  principal: A('Agent', 'agent-1'),
  action: A('Action', 'tool:call'),
  resource: A('Tool', 'tool/summarizer'),
  context: { intent: 'research', delegation: { depth: 0, scope: [] }, now: new Date().toISOString() },
};
const floorSlice = sliceEntities(floorEntities as never, [floorRequest.principal, floorRequest.resource], floorRequest.context);

const cases: Record<string, () => Promise<unknown>> = {
  floor: async () => evaluate(set, { ...floorRequest, entities: floorSlice } as never),
  request: () => warm.decide({ ...byRequest, principal: { type: 'Agent', id: 'agent-1' } }, { caller }),
  registry: () => warm.decide({ ...byRegistry, principal: { type: 'Agent', id: 'agent-1' } }, { caller }),
  cold: () => cold.decide({ ...byRegistry, principal: { type: 'Agent', id: `agent-${(n++ * 7919) % AGENTS}` } }, { caller }),
  audit: () => audited.decide({ ...byRegistry, principal: { type: 'Agent', id: 'agent-1' } }, { caller }),
};

for (const [name, fn] of Object.entries(cases)) {
  const r = (await fn()) as { result?: { allow: boolean } } | { decision: string };
  const ok = 'result' in r ? r.result?.allow : (r as { decision: string }).decision === 'allow';
  if (!ok) throw new Error(`${name}: expected allow, got ${JSON.stringify(r).slice(0, 400)}`);
}

async function measure(fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + REP_MS;
  let count = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) await fn();
    count += 20;
  }
  return ((performance.now() - t0) * 1000) / count;
}

const results: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let rep = 0; rep < REPS; rep++) for (const [name, fn] of Object.entries(cases)) results[name]!.push(await measure(fn));
await trail.close();
await storage.close();
rmSync(work, { recursive: true, force: true });

const floor = median(results.floor!);
const lines = [
  `decision-path benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${AGENTS.toLocaleString('en')} registered agents, median of ${REPS} × ${REP_MS} ms`,
  '',
  '| case | µs/decision | × engine floor |',
  '|---|---|---|',
  ...Object.keys(cases).map((k) => `| ${k} | ${median(results[k]!).toFixed(1)} | ${(median(results[k]!) / floor).toFixed(2)}× |`),
  '',
  `audit on / audit off (registry case): ${(median(results.registry!) / median(results.audit!)).toFixed(2)}× of the throughput`,
  '',
];
process.stdout.write(lines.join('\n'));
