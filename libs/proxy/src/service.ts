/**
 * Standalone composition root of the enforcement proxy: configuration → secrets broker → remote
 * decision point → audit trail → express app → HTTP server with graceful shutdown.
 *
 * `ARGUS_PROXY_CONFIG` (or the first argument) names the JSON/YAML configuration; the standalone
 * proxy decides through a remote apdp (`decision.url` / `ARGUS_APDP_URL`). `argus serve` mounts
 * `createProxyApp` with the in-process decision point instead. Usage (tokens, cost) is charged to
 * the goal budgets of that same apdp (`POST /v1/goals/{id}/usage`, with the proxy's service token).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { createAuditTrail, parseAuditConfig } from '@argus/audit';
import {
  ConfigError,
  Shutdown,
  createHttpServer,
  createLogger,
  createMetricsRegistry,
  healthRouter,
  type ShutdownReport,
} from '@argus/platform';
import { Scrubber, openSecretsBroker, parseSecretsConfig, scrubbingDestination } from '@argus/secrets';
import express from 'express';
import { createProxyApp } from './app.ts';
import { isOpsPath, loadProxyConfig } from './config.ts';
import { createRemoteDecisionPoint } from './decision.ts';
import { createAuthenticator } from './identity.ts';
import { startCallJournal } from './journal.ts';
import { createRemoteUsageSink } from './remote-usage.ts';
import { createRemoteToolCatalogue } from './remote-tools.ts';

/** Starts the standalone proxy; resolves once it listens. */
export async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ close: () => Promise<ShutdownReport>; port: number }> {
  // Node 20's V8 aborts (fatal in Deoptimizer::DoComputeBuiltinContinuation) when it deoptimizes a
  // JS→Wasm call TurboFan inlined; cedar-wasm under HTTP load triggers it (see docs/benchmarks/proxy.md).
  setFlagsFromString('--no-turbo-inline-js-wasm-calls');
  const configPath = argv[0] ?? env.ARGUS_PROXY_CONFIG ?? 'proxy.yaml';
  const config = loadProxyConfig(configPath, env);
  const secretsConfig = config.secrets ?? parseSecretsConfig({});
  const { store, broker } = openSecretsBroker(secretsConfig, env);
  await broker.loadAll();
  // Every log line passes the scrubber, so no known secret reaches stdout whatever field it hides in.
  const logScrubber: Scrubber = broker.scrubber;
  const logger = createLogger({ name: 'argus-proxy', destination: scrubbingDestination(logScrubber, process.stdout) });
  if (!config.decision.url) {
    throw new ConfigError('the standalone proxy needs a remote decision point', [
      { path: '/decision/url', message: 'set decision.url or ARGUS_APDP_URL (argus serve decides in-process)' },
    ]);
  }
  const token = config.decision.tokenEnv ? env[config.decision.tokenEnv] : undefined;
  const decisionPoint = createRemoteDecisionPoint({
    url: config.decision.url,
    timeoutMs: config.decision.timeoutMs,
    ...(token ? { token } : {}),
  });
  const metrics = createMetricsRegistry();
  // Parsed at load by the audit section (`proxySection`); absent: the audit defaults.
  const auditConfig = config.audit ?? parseAuditConfig({});
  const recorder = await createAuditTrail(auditConfig, { logger, metrics });
  // The journal of forwarded calls sits beside the audit spill directory (see `journal.ts`): a
  // crashed run's calls are recorded as `interrupted` before anything is proxied.
  const journal = await startCallJournal(join(dirname(resolve(auditConfig.spill.dir)), 'proxy-calls'), recorder, logger);
  const authenticate = createAuthenticator({ auth: config.auth, secrets: broker });

  const root = express();
  root.disable('x-powered-by');
  root.use(healthRouter({ checks: [{ name: 'secrets', check: async () => ({ ok: (await broker.list()).length >= 0 }) }], metrics }));
  // Tokens and cost go to the goal budgets of the same apdp, with the same service credential.
  const usage = createRemoteUsageSink({ url: config.decision.url, timeoutMs: config.decision.timeoutMs, ...(token ? { token } : {}) });
  // MCP lists are compared with the registry on every tools/list (the runtime rug-pull check).
  const registryToken = config.registry.tokenEnv ? env[config.registry.tokenEnv] : undefined;
  const tools = config.registry.url
    ? createRemoteToolCatalogue({
        url: config.registry.url,
        timeoutMs: config.registry.timeoutMs,
        ...(registryToken ? { token: registryToken } : {}),
      })
    : undefined;
  if (!tools && config.upstreams.some((u) => u.kind === 'mcp')) {
    logger.warn('registry.url is not set: MCP lists are filtered by policy but not compared with the registry (no runtime rug-pull check)');
  }
  const proxy = createProxyApp({
    config,
    decisionPoint,
    secrets: broker,
    recorder,
    journal,
    usage,
    logger,
    metrics,
    authenticate,
    ...(tools ? { tools } : {}),
  });
  // Proxied calls never enter the framework (it re-prototypes every request and response, which
  // slows node's own HTTP code); only the health and metrics routes do.
  const listener = (req: IncomingMessage, res: ServerResponse): void => (isOpsPath(req.url ?? '') ? root(req, res) : proxy(req, res));

  // A client's half-close ends its call (see `createHttpServer`).
  const server = createHttpServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 }, listener, false);
  const shutdown = new Shutdown(logger, config.limits.shutdownGraceMs);
  shutdown.add({ name: 'secrets', close: () => store.close() });
  // Closers run in reverse: the journal closes after the audit trail made the drained calls' records durable.
  shutdown.add({ name: 'proxy journal', close: async () => journal.close() });
  shutdown.add({ name: 'audit', close: () => recorder.close() });
  // SIGTERM: stop accepting, let calls finish for the grace, then answer and record the rest as `aborted`.
  shutdown.addServer('http', server, { drain: proxy.drain });
  await new Promise<void>((resolve) => server.listen(config.listen.port, config.listen.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  logger.info(
    { host: config.listen.host, port, upstreams: config.upstreams.map((u) => `${u.prefix} -> ${u.name} (${u.kind})`) },
    'proxy listening',
  );
  shutdown.installSignalHandlers();
  return { close: () => shutdown.run(), port };
}
