import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApdp, PolicyHolder, PolicyWatcher, reloadMetrics } from '@argus/apdp';
import { createLogger, createMetricsRegistry, Shutdown, UnauthorizedError } from '@argus/platform';
import { createRegistryView, MemoryEventBus, MemoryLeaseStore, openStorage, toolHash, type McpToolInput, type NewAgent, type NewHuman, type NewMcpServer, type RegistryStore } from '@argus/store';
import type { Command } from 'commander';
import type { RequestHandler } from 'express';

/** Options of `argus serve`. */
export interface ServeOptions {
  port: string;
  host: string;
  policies: string;
  store: string;
  dataDir: string;
  /** A JSON file of registry records (humans, agents, mcpServers) to create when absent. */
  seed?: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** `argus serve`: every app in one process on the embedded defaults (SQLite, in-process leases and events). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run Argus all-in-one: decision API, registry and proxy in one process, no database needed')
    .option('-p, --port <port>', 'port to listen on', process.env.ARGUS_PORT ?? '8181')
    .option('-H, --host <host>', 'address to bind', process.env.ARGUS_HOST ?? '127.0.0.1')
    .option('--policies <dir>', 'policy directory (schema.cedarschema, policies/)', process.env.ARGUS_POLICY_DIR ?? defaultPolicyDir())
    .option('--data-dir <dir>', 'where the embedded state lives', process.env.ARGUS_DATA_DIR ?? '.argus')
    .option('--store <url>', 'store URL (sqlite:path or mongodb://...)', process.env.ARGUS_STORE_URL)
    .option('--seed <file>', 'registry records (humans, agents, mcpServers) to create when absent')
    .action(async (opts: Omit<ServeOptions, 'store'> & { store?: string }) => {
      await serve({ ...opts, store: opts.store ?? `sqlite:${join(opts.dataDir, 'argus.db')}` });
    });
}

function defaultPolicyDir(): string {
  return existsSync('cedar/schema.cedarschema') ? 'cedar' : join(REPO_ROOT, 'cedar');
}

/** Starts the all-in-one server; resolves once it listens. */
export async function serve(options: ServeOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const logger = createLogger({ name: 'argus' });
  const metrics = createMetricsRegistry();
  mkdirSync(options.dataDir, { recursive: true });
  const adminToken = process.env.ARGUS_ADMIN_TOKEN ?? loadOrCreateToken(join(options.dataDir, 'admin-token'));

  const storage = await openStorage(options.store);
  const leases = new MemoryLeaseStore();
  const events = new MemoryEventBus();
  const view = createRegistryView({ store: storage.registry, leases, events });
  if (options.seed) await seedRegistry(storage.registry, JSON.parse(readFileSync(options.seed, 'utf8')) as RegistrySeed);

  const holder = new PolicyHolder();
  const { reloads, failures } = reloadMetrics(metrics);
  const watcher = new PolicyWatcher({ dir: options.policies, debounceMs: 200, holder, logger, reloads, failures });
  if (!(await watcher.load())) throw new Error(`the policy directory \`${options.policies}\` holds no valid policy set (see the log above)`);
  watcher.start();

  const { app } = createApdp({
    holder,
    registry: { getAgent: (id) => view.getAgent(id), getHuman: (id) => view.getHuman(id), getMcpServer: (id) => view.getMcpServer(id), leaseState: async (k, id) => (await view.leaseState(k, id)).state },
    requireAdmin: bearerGuard(adminToken),
    logger,
    metrics,
    limits: { maxBodyBytes: 1_048_576, maxJsonDepth: 64, maxBatchSize: 1000, decisionTimeoutMs: 1000 },
    readiness: [{ name: 'store', check: async () => ({ ok: await storage.ping() }) }],
  });

  const server = await new Promise<import('node:http').Server>((resolveListen, reject) => {
    const s = app.listen(Number(options.port), options.host, () => resolveListen(s));
    s.on('error', reject);
  });
  server.requestTimeout = 30_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(options.port);
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;

  const shutdown = new Shutdown(logger, 10_000);
  shutdown.add({ name: 'store', close: () => storage.close() });
  shutdown.add({ name: 'events', close: () => events.close() });
  shutdown.add({ name: 'policy-watcher', close: () => watcher.close() });
  shutdown.addServer('http', server);
  shutdown.installSignalHandlers();

  logger.info({ url, policies: options.policies, store: options.store.startsWith('sqlite:') ? options.store : 'mongodb', version: holder.current?.set.version }, 'argus is serving');
  process.stderr.write(
    [
      '',
      `  Argus is listening on ${url}`,
      `  policies: ${options.policies} (${holder.current?.set.policies.size} policies, ${holder.current?.set.version})`,
      `  admin token: ${process.env.ARGUS_ADMIN_TOKEN ? 'from ARGUS_ADMIN_TOKEN' : `in ${join(options.dataDir, 'admin-token')}`}`,
      '',
      '  try:',
      `    curl -s ${url}/v1/authorize -H 'content-type: application/json' \\`,
      `      -d '{"input":{"principal":{"type":"Agent","id":"support-bot"},"action":"tool:call","resource":{"type":"Tool","id":"crm.search","attributes":{"sensitivity":"internal","allowedIntents":["lookup-order-status"]}},"intent":"lookup-order-status"}}'`,
      '',
    ].join('\n') + '\n',
  );
  return { url, close: () => shutdown.run() };
}

/** Registry records to create at start-up when absent (demos, benchmarks). */
export interface RegistrySeed {
  humans?: NewHuman[];
  agents?: NewAgent[];
  mcpServers?: Array<Omit<NewMcpServer, 'tools'> & { tools?: McpToolInput[] }>;
}

/** Creates every seed record that does not exist yet; existing records are left as they are. */
export async function seedRegistry(registry: RegistryStore, seed: RegistrySeed): Promise<void> {
  for (const h of seed.humans ?? []) if (!(await registry.getHuman(h.id))) await registry.createHuman(h);
  for (const a of seed.agents ?? []) if (!(await registry.getAgent(a.id))) await registry.createAgent(a, 'seed');
  for (const s of seed.mcpServers ?? []) {
    if (await registry.getMcpServer(s.id)) continue;
    await registry.createMcpServer({ ...s, tools: (s.tools ?? []).map((t) => ({ ...t, hash: toolHash(t) })) }, 'seed');
  }
}

function loadOrCreateToken(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `argus_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** A constant-time bearer-token check for admin routes. */
export function bearerGuard(token: string): RequestHandler {
  const expected = Buffer.from(token);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return next(new UnauthorizedError('admin credential required'));
    res.locals.subject = 'admin';
    next();
  };
}
