/**
 * Standalone composition root of the decision point: configuration → decision runtime (storage,
 * Redis leases/events/counters, policies, audit, governance) → HTTP server → graceful shutdown.
 *
 * Usage (through apps/apdp/src/main.ts): `node --import tsx apps/apdp/src/main.ts [config.yaml]` (or `ARGUS_CONFIG`). Without a file
 * the defaults of `schemas/config/argus.schema.json` apply, overridden by the `ARGUS_*` variables.
 * SIGTERM/SIGINT stop accepting connections, end the decision streams with a final event, let
 * in-flight requests finish for `server.shutdownGraceMs`, close what is left, flush the audit trail,
 * close Redis and the store, and exit 0 — or 1 when requests had to be cut or a close failed.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Shutdown, createHttpServer } from '@argus/platform';
import { ARGUS_CONFIG_FILE, type ArgusConfig } from './config.ts';
import { openapiRouter } from './routes/openapi.ts';
import { startDecisionRuntime, type DecisionRuntime } from './runtime.ts';

/** A running standalone decision point. */
export interface RunningApdp {
  /** `http://host:port` it listens on. */
  url: string;
  server: Server;
  runtime: DecisionRuntime;
  shutdown: Shutdown;
}

/**
 * Loads and validates the configuration: `file` (JSON or YAML; absent → defaults only), then the
 * environment overrides of its sections (`ARGUS_CONFIG_FILE.env`). Throws `ConfigError` naming every
 * offending path, never a secret value.
 */
export function loadApdpConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ArgusConfig {
  return ARGUS_CONFIG_FILE.load({ ...(file ? { file } : {}), env });
}

/** Builds the runtime, listens, and registers every closer with a {@link Shutdown}; resolves once it listens. */
export async function startApdp(config: ArgusConfig): Promise<RunningApdp> {
  const runtime = await startDecisionRuntime(config, { routers: () => [openapiRouter()] });
  const shutdown = new Shutdown(runtime.logger, config.server.shutdownGraceMs);
  // The HTTP server stops accepting and drains first; then the closers run last-in first-out: the
  // audit trail flushes, then the watchers, Redis connections and the store close.
  for (const closer of runtime.closers) shutdown.add(closer);
  const server = createHttpServer({ requestTimeout: config.server.requestTimeoutMs }, runtime.apdp.listener);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await shutdown.run().catch(() => undefined);
    throw err;
  }
  shutdown.addServer('http', server, { endStreams: true });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  runtime.logger.info(
    { url, store: runtime.storage.backend, redis: Boolean(config.store.redisUrl), policyVersion: runtime.holder.current?.set.version },
    'decision point listening',
  );
  return { url, server, runtime, shutdown };
}

/** Entry point: config from `argv[0]` or `ARGUS_CONFIG`, start, install the signal handlers. */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<RunningApdp> {
  const running = await startApdp(loadApdpConfig(argv[0] ?? env.ARGUS_CONFIG, env));
  running.shutdown.installSignalHandlers();
  return running;
}
