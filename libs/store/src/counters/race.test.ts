/**
 * Two processes race on the last unit of budget of many goals at once: for every goal exactly one
 * of them may get it. Real Redis, real separate processes (tsx children), random key prefix.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { spawnTsx, type LineChild } from '@argus/platform/testing/line-child';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBudgetCounter } from './redis-budget-counter.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHILD = fileURLToPath(new URL('./race-child.ts', import.meta.url));
const GOALS = 400;
const LIMIT = 5;

const prefix = `argus-test:${randomBytes(6).toString('hex')}:`;
const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

afterAll(async () => {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

function racer(order: 'forward' | 'reverse'): LineChild {
  return spawnTsx(CHILD, [REDIS_URL, prefix, String(GOALS), String(LIMIT), order]);
}

describe('RedisBudgetCounter across processes', () => {
  it('two processes racing on the last unit: exactly one gets it, for every goal', async () => {
    const counter = new RedisBudgetCounter(client, { prefix });
    // Leave exactly one action (and one cent) in every goal.
    await Promise.all(
      Array.from({ length: GOALS }, (_, i) => counter.report(`goal-${i}`, { actions: LIMIT - 1, costUsd: (LIMIT - 1) * 0.01 })),
    );
    // Opposite orders: each wins goals until they meet, where they race call for call.
    const a = racer('forward');
    const b = racer('reverse');
    await Promise.all([a.waitFor(1), b.waitFor(1)]);
    expect([a.lines[0], b.lines[0]]).toEqual(['ready', 'ready']);
    a.child.stdin.write('go\n');
    b.child.stdin.write('go\n');
    await Promise.all([a.waitFor(2), b.waitFor(2)]);
    const gotA = JSON.parse(a.lines[1]!) as number[];
    const gotB = JSON.parse(b.lines[1]!) as number[];
    // Every goal went to exactly one racer.
    expect(gotA.length + gotB.length).toBe(GOALS);
    expect(new Set([...gotA, ...gotB]).size).toBe(GOALS);
    // Both won some: the processes really ran against each other.
    expect(gotA.length).toBeGreaterThan(0);
    expect(gotB.length).toBeGreaterThan(0);
    console.log(`race: process A won ${gotA.length}, process B won ${gotB.length} of ${GOALS} last units`);
    for (const i of [0, GOALS - 1]) expect(await counter.get(`goal-${i}`)).toEqual({ actions: LIMIT, tokens: 0, costUsd: LIMIT * 0.01 });
  });
});
