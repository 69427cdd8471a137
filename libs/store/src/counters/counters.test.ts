import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { runMigrations, STORE_MIGRATIONS } from '../sqlite/migrations.ts';
import { openSqlite } from '../sqlite/open.ts';
import { SqliteWindowCounter } from '../sqlite/window-counter.ts';
import { budgetCounterContract, windowCounterContract } from './contract.ts';
import { MemoryBudgetCounter } from './memory-budget-counter.ts';
import { counterId, MemoryWindowCounter } from './memory-window-counter.ts';
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
  const counter = new MemoryWindowCounter({ now: () => now });
  return {
    counter,
    advance: async (ms) => {
      now += ms;
    },
    entries: async (key, windowMs) => counter.entries(key, windowMs),
    close: async () => {},
  };
});

windowCounterContract('redis', async () => {
  const prefix = freshPrefix();
  const counter = new RedisWindowCounter(client, { prefix });
  return {
    counter,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    entries: (key, windowMs) => client.hlen(counter.key(key, windowMs)),
    close: () => dropPrefix(prefix),
  };
});

windowCounterContract('sqlite', async () => {
  let now = 1_000_000;
  const { db } = openSqlite(':memory:');
  return {
    counter: new SqliteWindowCounter(db, { now: () => now, sweepEvery: 3 }),
    advance: async (ms) => {
      now += ms;
    },
    entries: async (key, windowMs) =>
      (db.prepare('SELECT COUNT(*) AS n FROM window_runs WHERE counter = ?').get(counterId({ key, windowMs })) as { n: number }).n,
    close: async () => void db.close(),
  };
});

describe('SqliteWindowCounter', () => {
  it('keeps its counts across a restart of the store, and forgets them when the window passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-window-'));
    const file = join(dir, 'argus.db');
    let now = 5_000_000;
    try {
      const first = openSqlite(file);
      const before = new SqliteWindowCounter(first.db, { now: () => now });
      for (let i = 0; i < 3; i++) await before.hit('per-user', 86_400_000, { limit: 4 });
      first.db.close();
      now += 3_600_000;
      const second = openSqlite(file);
      const after = new SqliteWindowCounter(second.db, { now: () => now });
      expect(await after.count('per-user', 86_400_000)).toBe(3);
      expect(await after.hit('per-user', 86_400_000, { limit: 4 })).toEqual({ allowed: true, count: 4 });
      expect(await after.hit('per-user', 86_400_000, { limit: 4 })).toEqual({ allowed: false, count: 4 });
      // A day after the first three they are still counted until their slice (a hundredth of the
      // window, 14.4 min) has passed too; then they left, and the fourth (an hour later) is still in.
      now += 86_400_000 - 3_600_000;
      expect(await after.count('per-user', 86_400_000)).toBe(4);
      now += 864_000;
      expect(await after.count('per-user', 86_400_000)).toBe(1);
      second.db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sweeps expired hits of counters nobody reads any more', async () => {
    let now = 0;
    const { db } = openSqlite(':memory:');
    const counter = new SqliteWindowCounter(db, { now: () => now, sweepEvery: 2 });
    await counter.hit('gone', 1_000);
    now += 5_000;
    await counter.hit('other', 1_000);
    expect((db.prepare("SELECT COUNT(*) AS n FROM window_runs WHERE counter = '1000:gone'").get() as { n: number }).n).toBe(0);
    expect((db.prepare("SELECT COUNT(*) AS n FROM window_totals WHERE counter = '1000:gone'").get() as { n: number }).n).toBe(0);
    expect(await counter.count('other', 1_000)).toBe(1);
    db.close();
  });

  it('carries the hits of a file written before runs (store migration 8) over, counts and expiries intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-window-'));
    const file = join(dir, 'argus.db');
    try {
      const old = new BetterSqlite3(file);
      runMigrations(
        old,
        'store',
        STORE_MIGRATIONS.filter((m) => m.version < 8),
      );
      const add = old.prepare('INSERT INTO window_hits (counter, expires_ms) VALUES (?, ?)');
      for (const [counter, expires] of [
        ['1000:a', 2_000],
        ['1000:a', 2_000],
        ['1000:a', 2_500],
        ['60000:b', 61_000],
      ] as const)
        add.run(counter, expires);
      old.close();
      let now = 1_500;
      const { db } = openSqlite(file);
      const counter = new SqliteWindowCounter(db, { now: () => now });
      expect(
        await counter.countAll([
          { key: 'a', windowMs: 1_000 },
          { key: 'b', windowMs: 60_000 },
        ]),
      ).toEqual([3, 1]);
      now = 2_000;
      expect(await counter.hit('a', 1_000, { limit: 2 })).toEqual({ allowed: true, count: 2 });
      expect(await counter.hit('a', 1_000, { limit: 2 })).toEqual({ allowed: false, count: 2 });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
