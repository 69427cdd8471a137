/**
 * A decision service over real stores for the effects tests: SQLite registry in a temp dir,
 * in-process (or given) events and leases, the repository's Cedar schema with policies given as
 * text, a movable clock, and the effects hooks.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthorizeInput, AuthorizeResponse } from '@argus/contracts';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import {
  createRegistryView,
  MemoryApprovalStore,
  MemoryEventBus,
  MemoryLeaseStore,
  openStorage,
  type ApprovalStore,
  type EventBus,
  type LeaseStore,
  type Storage,
  type WindowCounter,
} from '@argus/store';
import type { RequestHandler, Router } from 'express';
import { createApdp, type Apdp } from '../../app.ts';
import { PolicyHolder } from '../../policy-holder.ts';
import { CEDAR_DIR } from '../../testing/harness.ts';
import { createDecisionEffects } from '../decision-effects.ts';
import type { EscalationQueue } from '../escalation.ts';

/** The repository's Cedar schema text. */
export const SCHEMA_TEXT = readFileSync(join(CEDAR_DIR, 'schema.cedarschema'), 'utf8');

/** What a test world is built from; everything has a default. */
export interface WorldOptions {
  policies: string;
  approvals?: ApprovalStore;
  events?: EventBus;
  leases?: LeaseStore;
  counters?: WindowCounter;
  escalation?: EscalationQueue;
  /** An existing SQLite file (another process shares it). */
  sqlitePath?: string;
  ttlMs?: number;
  quotas?: boolean;
  /** Registry cache TTL of the view (0 disables the cache). */
  viewTtlMs?: number;
  /** Build the decision service without effects hooks (benchmark floor). Default true. */
  effects?: boolean;
  routers?: (world: { approvals: ApprovalStore; clock: () => Date }) => Router[];
  requireAdmin?: RequestHandler;
}

/** A built world. */
export interface World extends Apdp {
  storage: Storage;
  events: EventBus;
  leases: LeaseStore;
  approvals: ApprovalStore;
  holder: PolicyHolder;
  /** Moves the clock forward. */
  advance(ms: number): void;
  now(): Date;
  decide(input: AuthorizeInput): Promise<AuthorizeResponse>;
  close(): Promise<void>;
}

/** Compiles `policies` against the repository schema into a holder; throws with the diagnostics. */
export function holderFor(policies: string): PolicyHolder {
  const holder = new PolicyHolder();
  const r = holder.replace(
    { schema: SCHEMA_TEXT, schemaFile: 'schema.cedarschema', policies: [{ file: 'test.cedar', text: policies }], links: [] },
    'api',
  );
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return holder;
}

/** Builds a world with alice and a trusted `support-bot` (live lease) registered. */
export async function buildWorld(options: WorldOptions): Promise<World> {
  const dir = options.sqlitePath ? undefined : mkdtempSync(join(tmpdir(), 'argus-effects-'));
  const storage = await openStorage(`sqlite:${options.sqlitePath ?? join(dir!, 'argus.db')}`);
  const events = options.events ?? new MemoryEventBus();
  const leases = options.leases ?? new MemoryLeaseStore();
  const approvals = options.approvals ?? new MemoryApprovalStore();
  let now = new Date('2030-01-01T09:00:00.000Z').getTime();
  const clock = () => new Date(now);
  const view = createRegistryView({
    store: storage.registry,
    leases,
    events,
    ...(options.viewTtlMs !== undefined ? { ttlMs: options.viewTtlMs } : {}),
  });
  const holder = holderFor(options.policies);
  const effects = createDecisionEffects({
    approvals,
    registry: storage.registry,
    events,
    ...(options.escalation ? { escalation: options.escalation } : {}),
    ...(options.counters ? { counters: options.counters } : {}),
    clock,
    logger: silentLogger(),
    config: { approvals: { ttlMs: options.ttlMs ?? 60_000, retentionMs: 60_000 }, quotas: { enabled: options.quotas ?? true } },
  });
  const apdp = createApdp({
    holder,
    registry: {
      getAgent: (id) => view.getAgent(id),
      getHuman: (id) => view.getHuman(id),
      getMcpServer: (id) => view.getMcpServer(id),
      leaseState: async (k, id) => (await view.leaseState(k, id)).state,
    },
    ...(options.effects === false ? {} : { effects }),
    requireAdmin: options.requireAdmin ?? ((_req, res) => void res.status(401).end()),
    logger: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    limits: { maxBodyBytes: 64 * 1024, maxJsonDepth: 32, maxBatchSize: 100, decisionTimeoutMs: 2_000 },
    clock,
    routers: options.routers?.({ approvals, clock }) ?? [],
  });
  return {
    ...apdp,
    storage,
    events,
    leases,
    approvals,
    holder,
    advance: (ms) => void (now += ms),
    now: clock,
    decide: (input) => apdp.decisions.decide(input, { caller: { kind: 'test' }, explain: 'reasons' }),
    async close() {
      await storage.close();
      if (!options.events) await events.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers alice and the trusted `support-bot` with a live lease. */
export async function seed(world: Pick<World, 'storage' | 'leases'>): Promise<void> {
  await world.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['finance'] });
  await world.storage.registry.createAgent(
    { id: 'support-bot', name: 'Support bot', owner: 'alice', kind: 'assistant', trust: 'trusted', capabilities: ['crm'] },
    'test',
  );
  await world.leases.renew('agent', 'support-bot', 3_600_000);
}

/** A tool call by `support-bot` (or `principal`) on `tool` with `sensitivity`. */
export function call(
  tool: string,
  sensitivity = 'internal',
  extra: Partial<AuthorizeInput> = {},
  principal = 'support-bot',
): AuthorizeInput {
  return {
    principal: { type: 'Agent', id: principal },
    action: 'tool:call',
    resource: { type: 'Tool', id: tool, attributes: { sensitivity } },
    intent: 'lookup-order-status',
    ...extra,
  };
}
