/** Test helpers for the shared Redis: a random key prefix per run, and cleanup of only those keys. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared Redis of the build machines. */
export const TEST_REDIS_URL = process.env.ARGUS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A connection suitable for BullMQ. */
export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
}

/** A prefix nobody else uses: `argus-test-discover-<random>`. */
export function randomPrefix(): string {
  return `argus-test-discover-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix:` (SCAN + UNLINK; never FLUSHDB). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
