import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDecisionRuntime, type ArgusConfig, type DecisionRuntime } from '@argus/apdp';
import { createProxyApp, createAuthenticator as createAgentAuthenticator, parseProxyConfig } from '@argus/proxy';
import { createConsoleRouter, createRegistryRouter } from '@argus/registry';
import { openSecretsBroker, parseSecretsConfig } from '@argus/secrets';
import { loadConfig, requireAuth, Shutdown } from '@argus/platform';
import { hashTools, type McpToolInput, type NewAgent, type NewHuman, type NewMcpServer, type RegistryStore } from '@argus/store';
import type { Command } from 'commander';

/** Options of `argus serve`. */
export interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  policies?: string;
  store?: string;
  dataDir: string;
  /** A JSON file of registry records (humans, agents, mcpServers) to create when absent. */
  seed?: string;
  /** Print the startup banner (default true). */
  banner?: boolean;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** `argus serve`: every app in one process on the embedded defaults (SQLite, in-process leases and events). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run Argus all-in-one: decision API, registry, audit and proxy in one process, no database needed')
    .option('-c, --config <file>', 'configuration file (JSON or YAML; schema: schemas/config/argus.schema.json)', process.env.ARGUS_CONFIG)
    .option('-p, --port <port>', 'port to listen on (default 8181)')
    .option('-H, --host <host>', 'address to bind (default 127.0.0.1)')
    .option('--policies <dir>', 'policy directory (schema.cedarschema, policies/)')
    .option('--data-dir <dir>', 'where the embedded state lives', process.env.ARGUS_DATA_DIR ?? '.argus')
    .option('--store <url>', 'store URL (sqlite:path or mongodb://...)')
    .option('--seed <file>', 'registry records (humans, agents, mcpServers) to create when absent')
    .action(async (opts: ServeOptions) => {
      await serve(opts);
    });
}

/** The embedded defaults of `argus serve`, under `dataDir`; the file and the environment override them. */
function embeddedDefaults(opts: ServeOptions): Record<string, unknown> {
  const policyDir = existsSync('cedar/schema.cedarschema') ? 'cedar' : join(REPO_ROOT, 'cedar');
  return {
    '/policy/dir': opts.policies ?? (process.env.ARGUS_POLICY_DIR ? undefined : policyDir),
    '/governance/intentsFile': join(opts.policies ?? policyDir, 'intents.json'),
    '/server/port': opts.port !== undefined ? Number(opts.port) : undefined,
    '/server/host': opts.host,
    '/store/url': opts.store ?? (process.env.ARGUS_STORE_URL ? undefined : `sqlite:${join(opts.dataDir, 'argus.db')}`),
  };
}

/** A running all-in-one Argus. */
export interface RunningArgus {
  url: string;
  proxyUrl?: string;
  runtime: DecisionRuntime;
  close(): Promise<void>;
}

/** Starts the all-in-one server; resolves once it listens. */
export async function serve(opts: ServeOptions): Promise<RunningArgus> {
  mkdirSync(opts.dataDir, { recursive: true });
  const generatedToken = process.env.ARGUS_ADMIN_TOKEN ? undefined : loadOrCreateToken(join(opts.dataDir, 'admin-token'));
  const defaults = embeddedDefaults(opts);
  const config = loadConfig<ArgusConfig>({
    schemaId: 'https://argus.dev/schemas/config/argus.json',
    ...(opts.config ? { file: opts.config } : {}),
    values: { ...defaults, ...(generatedToken ? { '/auth/adminToken': generatedToken } : {}) },
  });
  const auditDefaults = { sinks: [{ type: 'sqlite', path: join(opts.dataDir, 'audit.db') }], spill: { dir: join(opts.dataDir, 'audit-spill') } };
  // Without a config file the audit trail lives in the data dir; `enabled` still follows the environment.
  const withAudit: ArgusConfig = { ...config, audit: opts.config ? config.audit : { ...config.audit, ...auditDefaults } };

  const runtime = await startDecisionRuntime(withAudit, {
    routers: (parts) => [
      createRegistryRouter({ store: parts.storage.registry, leases: parts.leases, events: parts.events, auth: parts.auth, logger: parts.logger }),
      createConsoleRouter({ basePath: '/console', authenticate: requireAuth(parts.auth), logger: parts.logger }),
    ],
  });
  if (opts.seed) await seedRegistry(runtime.storage.registry, JSON.parse(readFileSync(opts.seed, 'utf8')) as RegistrySeed);

  const shutdown = new Shutdown(runtime.logger, config.server.shutdownGraceMs);
  for (const c of runtime.closers) shutdown.add(c);

  const server = createServer({ requestTimeout: config.server.requestTimeoutMs }, runtime.apdp.listener);
  await listen(server, config.server.port, config.server.host);
  shutdown.addServer('http', server);
  const url = urlOf(server, config.server.host);

  let proxyUrl: string | undefined;
  if (config.proxy) {
    const proxyConfig = parseProxyConfig(config.proxy);
    const { store, broker } = openSecretsBroker(proxyConfig.secrets ?? parseSecretsConfig({ path: join(opts.dataDir, 'argus.db') }), process.env);
    await broker.loadAll();
    shutdown.add({ name: 'secrets', close: () => store.close() });
    const proxyApp = createProxyApp({
      config: proxyConfig,
      decisionPoint: runtime.apdp.decisions,
      secrets: broker,
      recorder: runtime.audit ?? { record: async () => undefined },
      usage: { reportUsage: async (r) => void (await runtime.budget.report(r.goal, { tokens: r.tokens ?? 0, costUsd: r.costUsd ?? 0 })) },
      logger: runtime.logger,
      metrics: runtime.metrics,
      authenticate: createAgentAuthenticator({ auth: proxyConfig.auth, secrets: broker }),
    });
    const proxyServer = createServer({ requestTimeout: 0, headersTimeout: 30_000 }, proxyApp);
    await listen(proxyServer, proxyConfig.listen.port, proxyConfig.listen.host);
    shutdown.addServer('proxy', proxyServer);
    proxyUrl = urlOf(proxyServer, proxyConfig.listen.host);
  }
  shutdown.installSignalHandlers();

  const set = runtime.holder.current!.set;
  runtime.logger.info({ url, proxyUrl, policies: config.policy.dir, version: set.version }, 'argus is serving');
  if (opts.banner !== false) {
    process.stderr.write(
      [
        '',
        `  Argus is listening on ${url}${proxyUrl ? ` (proxy on ${proxyUrl})` : ''}`,
        `  policies: ${config.policy.dir} (${set.policies.size} policies, ${set.version})`,
        `  console: ${url}/console/`,
        `  admin token: ${generatedToken ? `in ${join(opts.dataDir, 'admin-token')}` : 'from the configuration'}`,
        `  next: see README.md for a first allow and deny`,
        '',
      ].join('\n') + '\n',
    );
  }
  return { url, ...(proxyUrl ? { proxyUrl } : {}), runtime, close: () => shutdown.run() };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
}

function urlOf(server: Server, host: string): string {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
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
    await registry.createMcpServer({ ...s, tools: hashTools(s.tools ?? []) }, 'seed');
  }
}

function loadOrCreateToken(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `argus_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
