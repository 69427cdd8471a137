/**
 * `argus serve`: every app in one process on the embedded defaults (SQLite, in-process leases and
 * events, policies from `cedar/`). Configuration precedence, key by key: embedded defaults <
 * configuration file (`-c`) < environment < flags (see `../serve/settings.ts`).
 *
 * Only `node:` modules and types are imported up front: the server stack loads when the command
 * runs, so `argus --help` and the other commands do not pay for it.
 */
import type { Server } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionRuntime } from '@argus/apdp';
import type { CallJournal } from '@argus/proxy';
import { createHttpServer, type ShutdownReport } from '@argus/platform';
import type { McpToolInput, NewAgent, NewHuman, NewMcpServer, RegistryChangedEvent, RegistryStore } from '@argus/store';
import type { Command } from 'commander';
// A type only: the settings module itself loads when `argus serve` runs.
import type { ServeFlags } from '../serve/settings.ts';

/** Options of `argus serve`: the flags that set configuration keys, and these. */
export interface ServeOptions extends ServeFlags {
  /** A JSON file of registry records (humans, agents, mcpServers) to create when absent. */
  seed?: string;
  /** Print the startup banner (default true). */
  banner?: boolean;
}

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
    .addHelpText(
      'after',
      '\nPrecedence, key by key: embedded defaults < the -c file < environment (ARGUS_*) < these flags.\n' +
        'Exit codes: 2 cannot start (bad configuration, port in use). On SIGTERM/SIGINT both listeners stop accepting, calls in flight\n' +
        'get server.shutdownGraceMs to finish, then 0 when they all did; 1 when some were aborted (recorded as `aborted`) or a close failed.',
    )
    .action(async (opts: ServeOptions) => {
      await serve(opts);
    });
}

/** A running all-in-one Argus. */
export interface RunningArgus {
  url: string;
  proxyUrl?: string;
  runtime: DecisionRuntime;
  /** Shuts down as SIGTERM does (stop accepting, drain, abort past the grace, close) without exiting. */
  close(): Promise<ShutdownReport>;
}

/** Starts the all-in-one server; resolves once it listens. */
export async function serve(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): Promise<RunningArgus> {
  mkdirSync(opts.dataDir, { recursive: true });
  const { resolveServeSettings } = await import('../serve/settings.ts');
  const { config, generatedTokenFile } = resolveServeSettings(opts, env);
  const [{ startDecisionRuntime }, { createConsoleRouter, createRegistryRouter, registryToolCatalogue }, { requireAuth, Shutdown }] =
    await Promise.all([import('@argus/apdp'), import('@argus/registry'), import('@argus/platform')]);

  const runtime = await startDecisionRuntime(config, {
    routers: (parts) => [
      createRegistryRouter({
        store: parts.storage.registry,
        leases: parts.leases,
        events: parts.events,
        auth: parts.auth,
        logger: parts.logger,
      }),
      createConsoleRouter({ basePath: '/console', authenticate: requireAuth(parts.auth), logger: parts.logger }),
    ],
  });
  if (opts.seed) await seedRegistry(runtime.storage.registry, JSON.parse(readFileSync(opts.seed, 'utf8')) as RegistrySeed);

  const shutdown = new Shutdown(runtime.logger, config.server.shutdownGraceMs);
  // The proxy's journal of forwarded calls (with the audit trail on): a crashed run's calls are
  // recorded as `interrupted` before anything is served, and it closes after the audit trail
  // (closers run in reverse), once the records of the calls drained at shutdown are durable.
  let journal: CallJournal | undefined;
  if (config.proxy && runtime.audit) {
    const { startCallJournal } = await import('@argus/proxy');
    const opened = await startCallJournal(join(opts.dataDir, 'proxy-calls'), runtime.audit, runtime.logger);
    journal = opened;
    shutdown.add({ name: 'proxy journal', close: async () => opened.close() });
  }
  for (const c of runtime.closers) shutdown.add(c);

  const server = createHttpServer({ requestTimeout: config.server.requestTimeoutMs }, runtime.apdp.listener);
  await listen(server, config.server.port, config.server.host);
  // The decision stream never ends on its own: it gets a final event as soon as draining starts.
  shutdown.addServer('http', server, { endStreams: true });
  const url = urlOf(server, config.server.host);

  let proxyUrl: string | undefined;
  if (config.proxy) {
    // The secrets broker loads only when the configuration has a proxy section (parsed at load).
    const proxyConfig = config.proxy;
    const [{ createProxyApp, createAuthenticator: createAgentAuthenticator }, { openSecretsBroker, parseSecretsConfig }, { TOPICS }] =
      await Promise.all([import('@argus/proxy'), import('@argus/secrets'), import('@argus/store')]);
    const { store, broker } = openSecretsBroker(proxyConfig.secrets ?? parseSecretsConfig({ path: join(opts.dataDir, 'argus.db') }), env);
    await broker.loadAll();
    shutdown.add({ name: 'secrets', close: () => store.close() });
    const proxyApp = createProxyApp({
      config: proxyConfig,
      decisionPoint: runtime.apdp.decisions,
      secrets: broker,
      ...(runtime.audit ? { recorder: runtime.audit } : {}),
      ...(journal ? { journal } : {}),
      usage: { reportUsage: async (r) => void (await runtime.budget.report(r.goal, { tokens: r.tokens ?? 0, costUsd: r.costUsd ?? 0 })) },
      logger: runtime.logger,
      metrics: runtime.metrics,
      authenticate: createAgentAuthenticator({ auth: proxyConfig.auth, secrets: broker }),
      // MCP lists are compared with the registry on every tools/list (runtime rug-pull check).
      tools: registryToolCatalogue({ store: runtime.storage.registry, events: runtime.events }),
      // A stop, or an agent revoked or quarantined, cuts the calls already running, not only the next ones.
      switches: runtime.switches,
      agents: { onChange: (listener) => runtime.events.subscribe(TOPICS.registryChanged, (payload) => agentChange(payload, listener)) },
    });
    // A client's half-close ends its call (see `createHttpServer`).
    const proxyServer = createHttpServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, proxyApp, false);
    await listen(proxyServer, proxyConfig.listen.port, proxyConfig.listen.host);
    shutdown.addServer('proxy', proxyServer, { drain: proxyApp.drain });
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
        `  admin token: ${generatedTokenFile ? `in ${generatedTokenFile}` : 'from the configuration'}`,
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

/** A `registry.changed` event that moves an agent's trust or deletes it, as the proxy reads it. */
function agentChange(payload: unknown, listener: (change: { id: string; trust?: string; deleted?: boolean }) => void): void {
  const e = payload as Partial<RegistryChangedEvent> | null;
  if (!e || e.kind !== 'agent' || typeof e.id !== 'string') return;
  if (e.change === 'deleted') listener({ id: e.id, deleted: true });
  else if (e.change === 'trust' && typeof e.trust === 'string') listener({ id: e.id, trust: e.trust });
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
  const { hashTools } = await import('@argus/store');
  for (const h of seed.humans ?? []) if (!(await registry.getHuman(h.id))) await registry.createHuman(h);
  for (const a of seed.agents ?? []) if (!(await registry.getAgent(a.id))) await registry.createAgent(a, 'seed');
  for (const s of seed.mcpServers ?? []) {
    if (await registry.getMcpServer(s.id)) continue;
    await registry.createMcpServer({ ...s, tools: hashTools(s.tools ?? []) }, 'seed');
  }
}
