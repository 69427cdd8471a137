/**
 * A worker process for the stalled-job test: takes one scan job from the queue named on the command
 * line, prints `started <jobId>`, and never finishes — the test SIGKILLs it mid-job. Its
 * stalledInterval matches the test worker: BullMQ guards the stalled check with one key per queue.
 * Usage: node --import tsx stalling-worker.ts <redisUrl> <prefix> <queueName>
 */
import { Redis } from 'ioredis';
import { createScanWorker } from '../jobs/worker.ts';

const [redisUrl, prefix, queueName] = process.argv.slice(2) as [string, string, string];
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
createScanWorker(
  { connection, prefix, queueName },
  async (job) => {
    process.stdout.write(`started ${job.id}\n`);
    return new Promise(() => undefined);
  },
  { concurrency: 1, lockDurationMs: 1000, stalledIntervalMs: 300, maxStalledCount: 1, name: 'doomed' },
);
