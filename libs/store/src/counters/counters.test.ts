import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { budgetCounterContract, windowCounterContract } from './contract.ts';
import { MemoryBudgetCounter } from './memory-budget-counter.ts';
import { MemoryWindowCounter } from './memory-window-counter.ts';
import { RedisBudgetCounter } from './redis-budget-counter.ts';
import { RedisWindowCounter } from './redis-window-counter.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let client: Redis;

beforeAll(async () => {
  client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
});
afterAll(async () => {
  await client.quit();
});

/** Deletes every key under a test prefix (our own keys only; never FLUSHDB). */
async function dropPrefix(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

const freshPrefix = () => `argus-test:${randomBytes(6).toString('hex')}:`;

budgetCounterContract('memory', async () => ({ counter: new MemoryBudgetCounter(), close: async () => {} }));

budgetCounterContract('redis', async () => {
  const prefix = freshPrefix();
  return { counter: new RedisBudgetCounter(client, { prefix }), close: () => dropPrefix(prefix) };
});

windowCounterContract('memory', async () => {
  let now = 1_000_000;
  return {
    counter: new MemoryWindowCounter({ now: () => now }),
    advance: async (ms) => {
      now += ms;
    },
    close: async () => {},
  };
});

windowCounterContract('redis', async () => {
  const prefix = freshPrefix();
  return {
    counter: new RedisWindowCounter(client, { prefix }),
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: () => dropPrefix(prefix),
  };
});
