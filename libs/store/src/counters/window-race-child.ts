/**
 * One racer of the cross-process SQLite window test (run by `window-race.test.ts` with tsx). Opens
 * the shared file, prints `ready`, waits for `go` on stdin, then hits each counter once with a
 * limit of one, in `forward` or `reverse` order, and prints the indexes it was admitted to as JSON.
 */
import { createInterface } from 'node:readline';
import { openSqlite } from '../sqlite/open.ts';
import { SqliteWindowCounter } from '../sqlite/window-counter.ts';

const [file, countersArg, order] = process.argv.slice(2);
const n = Number(countersArg);
const { db } = openSqlite(file!);
const counter = new SqliteWindowCounter(db);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'go') break;
}
const got: number[] = [];
for (let k = 0; k < n; k++) {
  const i = order === 'reverse' ? n - 1 - k : k;
  // Two counters per hit, as a request with two named quotas: all or nothing.
  const r = await counter.hitAll([
    { key: `quota:a:${i}`, windowMs: 3_600_000, limit: 1 },
    { key: `quota:b:${i}`, windowMs: 3_600_000 },
  ]);
  if (r.allowed) got.push(i);
  // Let the other process take the lock now and then: SQLite's busy handler sleeps, and a racer
  // that never pauses would finish before the other one wakes (correct, but no race to observe).
  await new Promise((resolve) => setTimeout(resolve, 0));
}
process.stdout.write(`${JSON.stringify(got)}\n`);
db.close();
