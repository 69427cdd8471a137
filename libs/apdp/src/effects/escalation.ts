/**
 * `@effect("escalate")`: a deny that also notifies. The decision enqueues a BullMQ job; a worker
 * POSTs the decision record to the configured webhook with an HMAC-SHA256 signature, and BullMQ
 * retries failed deliveries with exponential backoff.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Job, Queue, Worker } from 'bullmq';

/** BullMQ loads when an escalation queue or worker is made: a process without one never pays for it. */
const bullmq = (): typeof import('bullmq') => createRequire(import.meta.url)('bullmq') as typeof import('bullmq');
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuthorizeResult } from '@argus/contracts';

/** Header carrying `sha256=<hex>`: HMAC-SHA256 over `<timestamp>.<body>` with the shared secret. */
export const SIGNATURE_HEADER = 'x-argus-signature';
/** Header carrying the signing time (milliseconds since the epoch), part of the signed text. */
export const TIMESTAMP_HEADER = 'x-argus-timestamp';
/** Header carrying the delivery id (stable across retries of one delivery: receivers deduplicate on it). */
export const DELIVERY_HEADER = 'x-argus-delivery';

/** What an escalation carries: the decision record, value-free (no context values). */
export interface EscalationJob {
  decisionId: string;
  /** The escalating policy. */
  policy: string;
  /** Decision time (ISO 8601). */
  time: string;
  principal: { type: string; id: string };
  action: string;
  resource: { type: string; id: string };
  intent?: string;
  goal?: string;
  result: Pick<AuthorizeResult, 'decision' | 'reasons' | 'errors' | 'codes'>;
}

/** Where escalations are queued. */
export interface EscalationQueue {
  /** Queues one delivery; resolves once the job is stored. Idempotent per (decision, policy). */
  enqueue(job: EscalationJob): Promise<void>;
  close(): Promise<void>;
}

/** Where the BullMQ queue lives and how deliveries are retried. */
export interface BullEscalationOptions {
  connection: Redis;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string;
  queueName: string;
  /** Delivery attempts in all (first try included). */
  attempts: number;
  /** First retry delay; doubles on each retry. */
  backoffMs: number;
  /** Completed and failed jobs kept for inspection. */
  keepCompleted?: number;
  keepFailed?: number;
}

/** The BullMQ job id of a delivery: stable per (decision, policy), so a repeat enqueue is a no-op. */
export function escalationJobId(decisionId: string, policy: string): string {
  return `esc-${createHash('sha256').update(`${decisionId}\0${policy}`, 'utf8').digest('hex').slice(0, 40)}`;
}

/** An escalation queue on BullMQ. */
export function createBullEscalationQueue(options: BullEscalationOptions): EscalationQueue & { queue: Queue<EscalationJob> } {
  const queue = new (bullmq().Queue)<EscalationJob>(options.queueName, {
    connection: options.connection,
    ...(options.prefix ? { prefix: options.prefix } : {}),
  });
  return {
    queue,
    async enqueue(job) {
      await queue.add('escalate', job, {
        jobId: escalationJobId(job.decisionId, job.policy),
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: options.backoffMs },
        removeOnComplete: { count: options.keepCompleted ?? 1_000 },
        removeOnFail: { count: options.keepFailed ?? 5_000 },
      });
    },
    async close() {
      await queue.close();
    },
  };
}

/** `sha256=<hex>` over `<timestampMs>.<body>`. */
export function signEscalation(body: string, secret: string, timestampMs: number): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampMs}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * For receivers: true when `signature` signs `body` at `timestampMs` with `secret`, and the
 * timestamp is within `toleranceMs` of `nowMs` (replay window). Constant-time comparison.
 */
export function verifyEscalationSignature(
  body: string,
  secret: string,
  timestampMs: number,
  signature: string,
  options: { nowMs?: number; toleranceMs?: number } = {},
): boolean {
  const now = options.nowMs ?? Date.now();
  if (!Number.isFinite(timestampMs) || Math.abs(now - timestampMs) > (options.toleranceMs ?? 5 * 60_000)) return false;
  const want = Buffer.from(signEscalation(body, secret, timestampMs), 'utf8');
  const got = Buffer.from(signature, 'utf8');
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Where and how deliveries are made. */
export interface EscalationDelivery {
  webhookUrl: string;
  /** HMAC key; never logged. */
  secret: string;
  /** Bound on one POST. */
  timeoutMs: number;
}

/**
 * POSTs one escalation. Resolves on a 2xx. A 4xx other than 408/425/429 cannot succeed on retry
 * (`UnrecoverableError`: BullMQ stops retrying); anything else throws a plain error (retried).
 * Redirects are not followed: a signed record goes to the configured URL only.
 */
export async function deliverEscalation(
  job: EscalationJob,
  delivery: EscalationDelivery,
  meta: { deliveryId: string; attempt: number; nowMs?: number },
): Promise<number> {
  const body = JSON.stringify({ type: 'argus.escalation', deliveryId: meta.deliveryId, ...job });
  const timestamp = meta.nowMs ?? Date.now();
  let res: Response;
  try {
    res = await fetch(delivery.webhookUrl, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(delivery.timeoutMs),
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signEscalation(body, delivery.secret, timestamp),
        [TIMESTAMP_HEADER]: String(timestamp),
        [DELIVERY_HEADER]: meta.deliveryId,
        'x-argus-attempt': String(meta.attempt),
      },
      body,
    });
  } catch (err) {
    throw new Error(`escalation webhook unreachable: ${err instanceof Error ? err.name : 'error'}`);
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return res.status;
  if (res.status >= 400 && res.status < 500 && ![408, 425, 429].includes(res.status))
    throw new (bullmq().UnrecoverableError)(`escalation webhook refused the delivery with ${res.status}`);
  throw new Error(`escalation webhook answered ${res.status}`);
}

/** Options of {@link createEscalationWorker}. */
export interface EscalationWorkerOptions extends EscalationDelivery {
  /** A connection dedicated to this worker (it blocks); `maxRetriesPerRequest: null`. */
  connection: Redis;
  prefix?: string;
  queueName: string;
  concurrency?: number;
  logger: Logger;
  /** Start consuming at once. Default true. */
  autorun?: boolean;
}

/** A BullMQ worker delivering escalations to the webhook. Close it on shutdown. */
export function createEscalationWorker(options: EscalationWorkerOptions): Worker<EscalationJob, number> {
  const delivery: EscalationDelivery = { webhookUrl: options.webhookUrl, secret: options.secret, timeoutMs: options.timeoutMs };
  const worker = new (bullmq().Worker)<EscalationJob, number>(
    options.queueName,
    async (job: Job<EscalationJob, number>) =>
      deliverEscalation(job.data, delivery, {
        deliveryId: job.id ?? escalationJobId(job.data.decisionId, job.data.policy),
        attempt: job.attemptsMade + 1,
      }),
    {
      connection: options.connection,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      concurrency: options.concurrency ?? 4,
      autorun: options.autorun ?? true,
    },
  );
  worker.on('failed', (job, err) => {
    options.logger.warn(
      { decisionId: job?.data.decisionId, policy: job?.data.policy, attempt: job?.attemptsMade, err: err.message },
      'escalation delivery failed',
    );
  });
  worker.on('error', (err) => options.logger.warn({ err: err.message }, 'escalation worker error'));
  return worker;
}
