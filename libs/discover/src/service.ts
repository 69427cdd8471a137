/**
 * Composition root of the discovery service: config → heuristics → registry client → Redis →
 * queue, scheduler and worker; SIGTERM/SIGINT close it gracefully.
 *
 * Usage: `tsx apps/discover/src/main.ts <config.json|yaml>` (or `ARGUS_DISCOVER_CONFIG`).
 * `ARGUS_DISCOVER_ROLES=scheduler|worker|scheduler,worker` picks the roles (default both).
 */
import { Redis } from 'ioredis';
import { ArgusError, createLogger, Shutdown } from '@argus/platform';
import { createDiscoverApp } from './app.ts';
import { loadDiscoverConfig } from './config.ts';
import { loadHeuristics } from './heuristics.ts';
import { HttpRegistryClient } from './registry-client.ts';

/** Runs the discovery service until SIGTERM/SIGINT (the process entry is apps/discover/src/main.ts). */
export async function main(): Promise<void> {
  const logger = createLogger({ name: 'argus-discover' });
  const file = process.argv[2] ?? process.env.ARGUS_DISCOVER_CONFIG;
  if (!file) {
    logger.error('usage: main.ts <config file> (or ARGUS_DISCOVER_CONFIG)');
    process.exit(2);
  }
  let config;
  let heuristics;
  try {
    config = loadDiscoverConfig(file);
    heuristics = config.heuristicsFile ? loadHeuristics(config.heuristicsFile) : loadHeuristics();
  } catch (err) {
    if (err instanceof ArgusError) {
      logger.error({ code: err.code, errors: err.errors }, err.message);
      process.exit(1);
    }
    throw err;
  }
  const rolesEnv = process.env.ARGUS_DISCOVER_ROLES?.split(',').map((r) => r.trim());
  const redisUrl = config.redis.url;
  const app = createDiscoverApp({
    config,
    heuristics,
    registry: new HttpRegistryClient({
      url: config.registry.url,
      timeoutMs: config.registry.timeoutMs,
      ...(config.registry.token ? { token: config.registry.token } : {}),
    }),
    logger,
    connect: () => new Redis(redisUrl, { maxRetriesPerRequest: null }),
    ...(rolesEnv ? { roles: { scheduler: rolesEnv.includes('scheduler'), worker: rolesEnv.includes('worker') } } : {}),
  });
  const shutdown = new Shutdown(logger, config.worker.shutdownGraceMs + 5000);
  shutdown.add({ name: 'discover', close: () => app.close() });
  shutdown.installSignalHandlers();
  await app.start();
  logger.info({ targets: config.targets.map((t) => t.id), queue: config.redis.queueName }, 'discover started');
}
