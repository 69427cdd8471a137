import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PolicyHolder, createApdp, createDecisionEffects, readPolicyDir, type ApdpDeps } from '@argus/apdp';
import { createGovernanceStep } from '@argus/decision';
import type { DecisionPoint } from '@argus/contracts';
import type { IntentCatalogue } from '@argus/governance';
import { createMetricsRegistry, silentLogger, type Authenticator } from '@argus/platform';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  MemoryApprovalStore,
  MemoryBudgetCounter,
  MemoryEventBus,
  MemoryLeaseStore,
  MemoryWindowCounter,
  createRegistryView,
  openStorage,
  type Storage,
  type WindowHit,
  type WindowHits,
  type WindowSpec,
} from '@argus/store';

/** The repository's shipped starter policies. */
export const STARTER_CEDAR_DIR = resolve(import.meta.dirname, '../../../../cedar');

/** The real decision service of the apdp over the shipped starter policies and a real registry. */
export interface StarterDecisionPoint {
  decisionPoint: DecisionPoint;
  /** The apdp's production listener (`POST /v1/authorize`, `/v1/authorize/batch`, ...) over the same service. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  storage: Storage;
  leases: MemoryLeaseStore;
  /** The bus the registry view listens on: publish `registry.changed` here after a registry write. */
  events: MemoryEventBus;
  /** The goal budgets the decisions spend. */
  budget: MemoryBudgetCounter;
  /** With `options.effects`: the approval requests opened, and how many quota hits were counted. */
  approvals?: MemoryApprovalStore;
  quotaHits(): number;
  close(): Promise<void>;
}

/**
 * Builds the apdp's decision service exactly as `argus serve` does (registry view, governance
 * step, memoised Cedar) over `cedar/` — the starter policies a new user gets, not test policies —
 * with a SQLite store in a temp dir. `extraPolicies` (name → Cedar text, each its own file) are added to the starter
 * set (e.g. a permit carrying obligations). With `options.auth` the listener requires credentials
 * as in production (the permission table); with `options.effects` decisions carry out their side
 * effects (approval requests, acting forbids, quota counts) as in production.
 */
export async function starterDecisionPoint(
  extraPolicies: Record<string, string> = {},
  options: { auth?: Authenticator; effects?: boolean } = {},
): Promise<StarterDecisionPoint> {
  const dir = mkdtempSync(join(tmpdir(), 'argus-proxy-starter-'));
  const storage = await openStorage(`sqlite:${join(dir, 'argus.db')}`);
  const leases = new MemoryLeaseStore();
  const events = new MemoryEventBus();
  const view = createRegistryView({ store: storage.registry, leases, events });
  const holder = new PolicyHolder();
  const input = await readPolicyDir(STARTER_CEDAR_DIR);
  const extra = Object.entries(extraPolicies).map(([id, text]) => ({ file: `policies/extra-${id}.cedar`, text }));
  const withExtra = { ...input, policies: [...input.policies, ...extra] };
  const loaded = holder.replace(withExtra, 'directory');
  if (!loaded.ok) throw new Error(`starter policies do not compile: ${JSON.stringify(loaded)}`);
  const registry: ApdpDeps['registry'] = {
    getAgent: (id) => view.getAgent(id),
    getHuman: (id) => view.getHuman(id),
    getMcpServer: (id) => view.getMcpServer(id),
    leaseState: async (k, id) => (await view.leaseState(k, id)).state,
  };
  const intents = JSON.parse(readFileSync(join(STARTER_CEDAR_DIR, 'intents.json'), 'utf8')) as IntentCatalogue;
  const budget = new MemoryBudgetCounter();
  const counters = new CountingWindowCounter();
  const approvals = options.effects ? new MemoryApprovalStore() : undefined;
  const effects = approvals
    ? createDecisionEffects({
        approvals,
        registry: storage.registry,
        events,
        counters,
        logger: silentLogger(),
        config: { approvals: { ttlMs: 60_000, retentionMs: 0 }, quotas: { enabled: true, rules: [] } },
      })
    : undefined;
  const apdp = createApdp({
    holder,
    registry,
    governance: createGovernanceStep({
      delegations: storage.delegations,
      goals: storage.goals,
      budget,
      intents,
      registry,
      maxDepth: 4,
      requireIntent: false,
    }),
    requireAdmin: (_req, res) => void res.status(401).end(),
    logger: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    limits: { maxBodyBytes: 64 * 1024, maxJsonDepth: 32, maxBatchSize: 100, decisionTimeoutMs: 1000 },
    decisionMemo: 10_000,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(effects ? { effects } : {}),
  });
  return {
    decisionPoint: apdp.decisions,
    listener: apdp.listener,
    storage,
    leases,
    events,
    budget,
    ...(approvals ? { approvals } : {}),
    quotaHits: () => counters.recorded,
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers alice (support) and the trusted agent `bot` she owns, with a live lease: the caller most proxy tests act as. */
export async function seedTrustedBot(starter: StarterDecisionPoint): Promise<void> {
  await starter.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  await starter.storage.registry.createAgent({ id: 'bot', name: 'bot', owner: 'alice', kind: 'assistant', trust: 'trusted' }, 'test');
  await starter.leases.renew('agent', 'bot', 600_000);
}

/** Quota counters that count the hits recorded (a what-if must record none). */
class CountingWindowCounter extends MemoryWindowCounter {
  recorded = 0;

  override hit(key: string, windowMs: number, options?: { limit?: number }): Promise<WindowHit> {
    this.recorded++;
    return super.hit(key, windowMs, options);
  }

  override hitAll(specs: readonly WindowSpec[]): Promise<WindowHits> {
    this.recorded++;
    return super.hitAll(specs);
  }
}
