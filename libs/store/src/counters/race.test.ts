/**
 * Two processes race on the last unit of budget of many goals at once: for every goal exactly one
 * of them may get it. Real Redis, real separate processes (tsx children), random key prefix.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
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

function racer(order: 'forward' | 'reverse'): { child: ChildProcessWithoutNullStreams; lines: string[]; waitFor: (n: number) => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, REDIS_URL, prefix, String(GOALS), String(LIMIT), order], { stdio: 'pipe' });
  const lines: string[] = [];
  let buf = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const waitFor = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`racer timed out; stderr: ${stderr.slice(0, 500)}`)), 20_000);
      const check = () => {
        if (lines.length >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      child.on('exit', (code) => code !== 0 && reject(new Error(`racer exited ${code}: ${stderr.slice(0, 500)}`)));
      check();
    });
  return { child, lines, waitFor };
}

describe('RedisBudgetCounter across processes', () => {
  it('two processes racing on the last unit: exactly one gets it, for every goal', async () => {
    const counter = new RedisBudgetCounter(client, { prefix });
    // Leave exactly one action (and one cent) in every goal.
    await Promise.all(Array.from({ length: GOALS }, (_, i) => counter.report(`goal-${i}`, { actions: LIMIT - 1, costUsd: (LIMIT - 1) * 0.01 })));
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
