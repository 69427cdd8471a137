/**
 * The scan queue and its job schedulers. One repeatable job scheduler per configured target
 * (`target:<id>`), created with `upsertJobScheduler` so that any number of scheduler processes can
 * sync the same configuration without creating duplicates; schedulers of removed targets are removed.
 */
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ScanTarget } from '../types.ts';
import type { ReportSummary } from '../report.ts';

/** Name of every scan job. */
export const SCAN_JOB_NAME = 'scan';

/** Prefix of the job scheduler ids this module owns. */
export const SCHEDULER_PREFIX = 'target:';

/** Data of a scan job: the target to scan (validated configuration), and why. */
export interface ScanJobData {
  target: ScanTarget;
  reason: 'scheduled' | 'manual';
}

/** What a completed scan job returns (stored by BullMQ as the job's return value). */
export interface ScanJobResult {
  targetId: string;
  kind: ScanTarget['kind'];
  endpointsProbed: number;
  endpointsOpen: number;
  complete: boolean;
  durationMs: number;
  findings: number;
  upserted: ReportSummary['upserted'];
  rejected: ReportSummary['rejected'];
}

/** Where the queue lives. */
export interface QueueSettings {
  connection: Redis;
  prefix: string;
  queueName: string;
}

/** Retry and retention policy of scan jobs. */
export interface JobPolicy {
  attempts: number;
  backoffDelayMs: number;
  keepCompleted: number;
  keepFailed: number;
}

/** BullMQ job options from the policy: retries with exponential backoff, bounded retention. */
export function jobOptions(policy: JobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffDelayMs },
    removeOnComplete: { count: policy.keepCompleted },
    removeOnFail: { count: policy.keepFailed },
  };
}

/** Creates the scan queue. */
export function createScanQueue(settings: QueueSettings): Queue<ScanJobData, ScanJobResult> {
  return new Queue<ScanJobData, ScanJobResult>(settings.queueName, { connection: settings.connection, prefix: settings.prefix });
}

/** Creates, updates and removes the repeatable scan jobs of the configured targets. */
export class ScanScheduler {
  constructor(
    private readonly queue: Queue<ScanJobData, ScanJobResult>,
    private readonly policy: JobPolicy,
  ) {}

  /** Makes the queue's schedulers match `targets`: one per target, every `intervalMs`; others removed. */
  async sync(targets: readonly ScanTarget[]): Promise<{ scheduled: string[]; removed: string[] }> {
    const wanted = new Set(targets.map((t) => SCHEDULER_PREFIX + t.id));
    for (const target of targets) {
      await this.queue.upsertJobScheduler(
        SCHEDULER_PREFIX + target.id,
        { every: target.intervalMs },
        { name: SCAN_JOB_NAME, data: { target, reason: 'scheduled' }, opts: jobOptions(this.policy) },
      );
    }
    const removed: string[] = [];
    const existing = await this.queue.getJobSchedulers(0, -1);
    for (const s of existing) {
      const key = s.key;
      if (key.startsWith(SCHEDULER_PREFIX) && !wanted.has(key)) {
        await this.queue.removeJobScheduler(key);
        removed.push(key.slice(SCHEDULER_PREFIX.length));
      }
    }
    return { scheduled: targets.map((t) => t.id), removed };
  }

  /** Enqueues a one-off scan now (same retry policy as scheduled scans). */
  scanNow(target: ScanTarget): Promise<Job<ScanJobData, ScanJobResult>> {
    return this.queue.add(SCAN_JOB_NAME, { target, reason: 'manual' }, jobOptions(this.policy));
  }
}
