import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { readFileSync } from 'node:fs';
import type { IntentCatalogue } from '@argus/governance';
import { createRegistryView, MemoryBudgetCounter, MemoryEventBus, MemoryLeaseStore, openStorage, type Storage } from '@argus/store';
import type { RequestHandler } from 'express';
import { createApdp, type Apdp, type ApdpDeps } from '../app.ts';
import { createGovernanceStep } from '@argus/decision';
import { PolicyHolder } from '../policy-holder.ts';
import { readPolicyDir } from '../policy-files.ts';

/** The repository's own `cedar/` directory. */
export const CEDAR_DIR = resolve(import.meta.dirname, '../../../../cedar');

/** The admin token the harness accepts. */
export const ADMIN_TOKEN = 'test-admin-token';

const requireAdmin: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== `Bearer ${ADMIN_TOKEN}`) {
    res.status(401).json({ code: 'unauthorized', message: 'admin credential required', errors: [] });
    return;
  }
  res.locals.subject = 'admin';
  next();
};

/** A decision API over a real SQLite store in a temp dir, in-process leases and events, and `cedar/`. */
export interface Harness extends Apdp {
  storage: Storage;
  leases: MemoryLeaseStore;
  events: MemoryEventBus;
  holder: PolicyHolder;
  budget: MemoryBudgetCounter;
  close(): Promise<void>;
}

/** Builds the harness; `overrides` replace any dependency. */
export async function startHarness(overrides: Partial<ApdpDeps> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'argus-apdp-'));
  const storage = await openStorage(`sqlite:${join(dir, 'argus.db')}`);
  const leases = new MemoryLeaseStore();
  const events = new MemoryEventBus();
  const view = createRegistryView({ store: storage.registry, leases, events });
  const holder = new PolicyHolder();
  const loaded = holder.replace(await readPolicyDir(CEDAR_DIR), 'directory');
  if (!loaded.ok) throw new Error('cedar/ does not compile');
  const registry: ApdpDeps['registry'] = {
    getAgent: (id) => view.getAgent(id),
    getHuman: (id) => view.getHuman(id),
    getMcpServer: (id) => view.getMcpServer(id),
    leaseState: async (k, id) => (await view.leaseState(k, id)).state,
  };
  const budget = new MemoryBudgetCounter();
  const intents = JSON.parse(readFileSync(join(CEDAR_DIR, 'intents.json'), 'utf8')) as IntentCatalogue;
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
    requireAdmin,
    logger: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    limits: { maxBodyBytes: 64 * 1024, maxJsonDepth: 32, maxBatchSize: 100, decisionTimeoutMs: 1000 },
    // Every test runs with memoised Cedar answers (off by default in production): a memoised answer must never differ.
    decisionMemo: 10_000,
    ...overrides,
  });
  return {
    ...apdp,
    storage,
    leases,
    events,
    holder,
    budget,
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers alice (finance) and a trusted support-bot owned by her, with a live lease. */
export async function seedRegistry(h: Harness): Promise<void> {
  await h.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['finance'] });
  await h.storage.registry.createAgent(
    { id: 'support-bot', name: 'Support bot', owner: 'alice', kind: 'assistant', trust: 'trusted', capabilities: ['crm'] },
    'test',
  );
  await h.storage.registry.createAgent({ id: 'new-bot', name: 'New bot', owner: 'alice', kind: 'assistant', trust: 'pending' }, 'test');
  await h.leases.renew('agent', 'support-bot', 60_000);
}

/** A tool call input for `principal`. */
export function toolCall(
  principal: string,
  tool = 'crm.search',
  attributes: Record<string, unknown> = { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] },
) {
  return {
    principal: { type: 'Agent', id: principal },
    action: 'tool:call',
    resource: { type: 'Tool', id: tool, attributes },
    intent: 'lookup-order-status',
  };
}

/**
 * The transports that answer the decision routes (`routes/decision-routes.ts`): `listener`, what
 * production listens with (`startApdp` and `argus serve` run `createServer(apdp.listener)`), and
 * `app`, the express app, which hands those routes to the same table.
 */
export const TRANSPORTS = ['listener', 'app'] as const;

/** One of {@link TRANSPORTS}. */
export type Transport = (typeof TRANSPORTS)[number];

/** The request listener of `transport` (for supertest, or `createServer`). */
export function handlerOf(apdp: Apdp, transport: Transport): (req: IncomingMessage, res: ServerResponse) => void {
  return transport === 'listener' ? apdp.listener : apdp.app;
}

/** A running test server: its base URL, and how to stop it. */
export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server on an ephemeral loopback port with `transport`'s listener, as production does with `apdp.listener`. */
export async function listen(apdp: Apdp, transport: Transport = 'listener'): Promise<TestServer> {
  const server = createServer(handlerOf(apdp, transport)).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Runs `fn` against a server listening with `transport` on an ephemeral loopback port, then stops it. */
export async function withServer(
  apdp: Apdp,
  transport: Transport,
  fn: (base: string, transport: Transport) => Promise<void>,
): Promise<void> {
  const server = await listen(apdp, transport);
  try {
    await fn(server.url, transport);
  } finally {
    void server.close();
  }
}

/** An answer read loosely, field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test answers are read loosely
export type LooseBody = Record<string, any>;

/** POSTs JSON (or a raw string body) and reads the JSON answer. */
export async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: LooseBody }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as LooseBody };
}
