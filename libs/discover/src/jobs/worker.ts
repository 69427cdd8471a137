/**
 * Scan workers: each job scans one target, reports what it found to the registry and returns a
 * summary. Failures are retried with exponential backoff (job options); a refused target fails at
 * once (`UnrecoverableError`); a worker that dies mid-job loses its lock and BullMQ's stalled-job
 * check hands the job to another worker; per-target rate limits delay (never drop) extra scans.
 */
import { DelayedError, UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { RegistryClient } from '../registry-client.ts';
import { reportFindings } from '../report.ts';
import { runScan, type RunScanOptions } from '../scan.ts';
import { ScanRefusedError } from '../scanners/network.ts';
import type { Heuristics } from '../types.ts';
import type { QueueSettings, ScanJobData, ScanJobResult } from './queue.ts';
import type { TargetRateLimiter } from './rate-limit.ts';

/** Everything a scan job needs. */
export interface ScanProcessorDeps {
  heuristics: Heuristics;
  registry: RegistryClient;
  scannerId: string;
  maxEndpoints: number;
  probeAllowCidrs?: readonly string[];
  /** 0: three times the target's interval. */
  leaseTtlMs: number;
  rateLimiter?: TargetRateLimiter;
  logger: Logger;
  /** Aborts in-flight scans (shutdown after the grace period). */
  signal?: AbortSignal;
  /** Engine clients for tests. */
  engines?: Pick<RunScanOptions, 'docker' | 'kubernetes'>;
}

/** Worker tuning. */
export interface ScanWorkerOptions {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  autorun?: boolean;
  /** Worker name, recorded on each job it processes (`job.processedBy`). */
  name?: string;
}

/** The job processor: rate limit → scan → report → summary. */
export function createScanProcessor(deps: ScanProcessorDeps): Processor<ScanJobData, ScanJobResult> {
  return async (job: Job<ScanJobData, ScanJobResult>, token?: string) => {
    const { target } = job.data;
    if (target.rateLimit && deps.rateLimiter) {
      const waitMs = await deps.rateLimiter.acquire(target.id, target.rateLimit);
      if (waitMs > 0) {
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
    }
    let lastProgress = 0;
    let result;
    try {
      result = await runScan(target, {
        heuristics: deps.heuristics,
        maxEndpoints: deps.maxEndpoints,
        ...(deps.probeAllowCidrs ? { probeAllowCidrs: deps.probeAllowCidrs } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(deps.engines ?? {}),
        onProgress: (done, total) => {
          const pct = Math.floor((done / Math.max(1, total)) * 100);
          if (pct >= lastProgress + 10 || done === total) {
            lastProgress = pct;
            void job.updateProgress(pct).catch(() => undefined);
          }
        },
      });
    } catch (err) {
      if (err instanceof ScanRefusedError) throw new UnrecoverableError(err.message);
      throw err;
    }
    const report = await reportFindings(deps.registry, result.findings, {
      scannerId: deps.scannerId,
      leaseTtlMs: deps.leaseTtlMs > 0 ? deps.leaseTtlMs : target.intervalMs * 3,
    });
    deps.logger.info(
      {
        targetId: target.id,
        jobId: job.id,
        probed: result.endpointsProbed,
        found: result.findings.length,
        rejected: report.rejected.length,
        durationMs: result.durationMs,
      },
      'scan done',
    );
    return {
      targetId: target.id,
      kind: target.kind,
      endpointsProbed: result.endpointsProbed,
      endpointsOpen: result.endpointsOpen,
      complete: result.complete,
      durationMs: result.durationMs,
      findings: result.findings.length,
      upserted: report.upserted,
      rejected: report.rejected,
    };
  };
}

/** Creates a worker on the scan queue. `connection` must be dedicated to this worker (it blocks). */
export function createScanWorker(
  settings: QueueSettings,
  processor: Processor<ScanJobData, ScanJobResult>,
  options: ScanWorkerOptions,
): Worker<ScanJobData, ScanJobResult> {
  return new Worker<ScanJobData, ScanJobResult>(settings.queueName, processor, {
    connection: settings.connection,
    prefix: settings.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    autorun: options.autorun ?? true,
    ...(options.name ? { name: options.name } : {}),
  });
}
