/**
 * One racer of the cross-process budget test (run by `race.test.ts` with tsx). Connects to Redis,
 * prints `ready`, waits for `go` on stdin, then tries to take one action from each goal, one call
 * at a time, in `forward` or `reverse` order, and prints the ids it obtained as JSON.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { RedisBudgetCounter } from './redis-budget-counter.ts';

const [url, prefix, goalsArg, limitArg, order] = process.argv.slice(2);
const goals = Number(goalsArg);
const limit = Number(limitArg);
const client = new Redis(url!, { maxRetriesPerRequest: 1 });
const counter = new RedisBudgetCounter(client, { prefix: prefix! });
await client.ping();
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === 'go') break;
}
const got: number[] = [];
for (let k = 0; k < goals; k++) {
  const i = order === 'reverse' ? goals - 1 - k : k;
  const r = await counter.consume(`goal-${i}`, { actions: 1, costUsd: 0.01 }, { maxActions: limit, maxCostUsd: limit * 0.01 });
  if (r.ok) got.push(i);
}
process.stdout.write(`${JSON.stringify(got)}\n`);
await client.quit();
