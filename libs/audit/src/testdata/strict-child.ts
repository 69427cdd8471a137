/**
 * Child process of the strict-mode crash test: records decisions in strict mode as fast as it can
 * (several concurrent callers) and prints `ack <decision_id>` once each `record()` resolved. The
 * parent kills it with SIGKILL and checks that every acknowledged decision is on disk.
 * Usage: tsx strict-child.ts <db path> <spill dir> [inline|worker|worker-strict]
 * `worker` runs the defaults as the apps do (audit thread, group commit, `durability: process`);
 * `worker-strict` the same with `durability: strict` (each commit synced); `inline` (the default
 * here) runs strict mode on the calling thread with its own sink.
 */
import { createAuditTrail } from '../writer.ts';
import { openSqliteAuditStore } from '../sinks/sqlite.ts';
import { makeDecisionEvent } from '../testing/events.ts';

const [dbPath, spillDir, thread = 'inline'] = process.argv.slice(2);
if (!dbPath || !spillDir) {
  process.stderr.write('usage: strict-child.ts <db> <spill dir>\n');
  process.exit(2);
}
const trail =
  thread === 'worker' || thread === 'worker-strict'
    ? await createAuditTrail({
        writerId: 'strict-child',
        ...(thread === 'worker-strict' ? { durability: 'strict' as const } : {}),
        spill: { dir: spillDir },
        sinks: [{ type: 'sqlite', path: dbPath }],
      })
    : await createAuditTrail(
        { writerId: 'strict-child', durability: 'strict', spill: { dir: spillDir }, sinks: [{ type: 'sqlite', path: dbPath }] },
        { sinks: [openSqliteAuditStore({ path: dbPath, synchronous: 'FULL' })] },
      );
process.stdout.write('ready\n');
let next = 0;
async function caller(): Promise<never> {
  for (;;) {
    const n = next++;
    const event = makeDecisionEvent('allow', n, { decisionId: `strict-${n}` });
    await trail.record(event);
    process.stdout.write(`ack strict-${n}\n`);
  }
}
await Promise.all(Array.from({ length: 4 }, caller));
