/**
 * The discovery service, built from injected dependencies: the scan queue, the scheduler that keeps
 * one repeatable job per configured target, and a worker that runs scans and reports findings.
 */
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DiscoverConfig } from './config.ts';
import { createScanQueue, ScanScheduler, type ScanJobData, type ScanJobResult } from './jobs/queue.ts';
import { TargetRateLimiter } from './jobs/rate-limit.ts';
import { createScanProcessor, createScanWorker, type ScanProcessorDeps } from './jobs/worker.ts';
import type { RegistryClient } from './registry-client.ts';
import type { Heuristics } from './types.ts';

/** What the service is built from. */
export interface DiscoverAppDeps {
  config: DiscoverConfig;
  heuristics: Heuristics;
  registry: RegistryClient;
  logger: Logger;
  /** Opens a new Redis connection (BullMQ options: `maxRetriesPerRequest: null`). Each is closed by `close()`. */
  connect: () => Redis;
  /** Which roles this process plays (default: both). */
  roles?: { scheduler?: boolean; worker?: boolean };
  /** Engine clients for tests. */
  engines?: ScanProcessorDeps['engines'];
}

/** The running service. */
export interface DiscoverApp {
  readonly queue: Queue<ScanJobData, ScanJobResult>;
  readonly scheduler: ScanScheduler;
  readonly worker: Worker<ScanJobData, ScanJobResult> | undefined;
  /** Syncs the schedulers with the configured targets (scheduler role) and starts the worker (worker role). */
  start(): Promise<void>;
  /**
   * Graceful shutdown: stops taking jobs, waits up to `worker.shutdownGraceMs` for running scans,
   * then aborts them (their jobs are retried per policy, or recovered as stalled) and closes Redis.
   */
  close(): Promise<void>;
}

/** Builds the service; nothing runs until `start()`. */
export function createDiscoverApp(deps: DiscoverAppDeps): DiscoverApp {
  const { config, logger } = deps;
  const connections: Redis[] = [];
  const open = () => {
    const c = deps.connect();
    connections.push(c);
    return c;
  };
  const queueConnection = open();
  const settings = { connection: queueConnection, prefix: config.redis.prefix, queueName: config.redis.queueName };
  const queue = createScanQueue(settings);
  const scheduler = new ScanScheduler(queue, config.jobs);
  const abort = new AbortController();
  const roles = { scheduler: deps.roles?.scheduler ?? true, worker: deps.roles?.worker ?? true };

  let worker: Worker<ScanJobData, ScanJobResult> | undefined;
  if (roles.worker) {
    const processor = createScanProcessor({
      heuristics: deps.heuristics,
      registry: deps.registry,
      scannerId: config.scannerId,
      maxEndpoints: config.limits.maxEndpointsPerScan,
      ...(config.limits.probeAllowCidrs ? { probeAllowCidrs: config.limits.probeAllowCidrs } : {}),
      leaseTtlMs: config.registry.leaseTtlMs,
      rateLimiter: new TargetRateLimiter(queueConnection, `${config.redis.prefix}:${config.redis.queueName}`),
      logger,
      signal: abort.signal,
      ...(deps.engines ? { engines: deps.engines } : {}),
    });
    worker = createScanWorker({ ...settings, connection: open() }, processor, { ...config.worker, autorun: false });
    worker.on('failed', (job, err) => {
      logger.warn({ jobId: job?.id, targetId: job?.data.target.id, attemptsMade: job?.attemptsMade, err: err.message }, 'scan failed');
    });
    worker.on('stalled', (jobId) => logger.warn({ jobId }, 'scan job stalled; requeued'));
    worker.on('error', (err) => logger.error({ err: err.message }, 'worker error'));
  }

  let closing: Promise<void> | undefined;
  return {
    queue,
    scheduler,
    worker,
    async start() {
      if (roles.scheduler) {
        const { scheduled, removed } = await scheduler.sync(config.targets);
        logger.info({ scheduled, removed }, 'scan schedules synced');
      }
      if (worker) {
        void worker
          .run()
          .catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'worker stopped'));
        await worker.waitUntilReady();
      }
    },
    close() {
      closing ??= (async () => {
        if (worker) {
          const graceful = worker.close();
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            graceful.then(() => false),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(() => resolve(true), config.worker.shutdownGraceMs);
            }),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            logger.warn({ graceMs: config.worker.shutdownGraceMs }, 'aborting running scans');
            abort.abort(new Error('shutting down'));
            await worker.close(true);
          }
        }
        await queue.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      })();
      return closing;
    },
  };
}
