/**
 * Audit writer benchmark. Run: `taskset -c 1 npx tsx bench/audit/run.ts` (from the repo root).
 *
 * 1. Sustained records/s of the async writer into SQLite (record → chain → batch → commit), side by
 *    side with the floor: the same pre-built records inserted straight into the same SQLite store.
 * 2. Cost of `record()` on the caller: no audit (floor) vs async vs strict (sequential, and 32
 *    concurrent callers for strict group commit).
 * Three alternating repetitions; medians reported. Bounded: about a minute.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Chainer,
  createAuditTrail,
  createRecordBuilder,
  makeDecisionEvent,
  openSqliteAuditStore,
  type AuditRecord,
  type SampleKind,
} from '@argus/audit';

const REPS = Number(process.env.REPS ?? 3);
const SUSTAINED_N = Number(process.env.SUSTAINED_N ?? 50_000);
const CALLER_N = Number(process.env.CALLER_N ?? 20_000);
const STRICT_N = Number(process.env.STRICT_N ?? 1_000);
const root = mkdtempSync(join(tmpdir(), 'argus-bench-audit-'));
let dirN = 0;
const fresh = () => join(root, `r${dirN++}`);
const kinds: SampleKind[] = ['allow', 'deny', 'hard_deny', 'proxied'];
const events = Array.from({ length: Math.max(SUSTAINED_N, CALLER_N) }, (_, i) => makeDecisionEvent(kinds[i % 4], i));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

async function floorSqlite(): Promise<number> {
  const dir = fresh();
  const store = openSqliteAuditStore({ path: join(dir, 'a.db') });
  const build = createRecordBuilder();
  const chainer = new Chainer('floor');
  const now = new Date();
  const records = events.slice(0, SUSTAINED_N).map((e) => chainer.chain<AuditRecord>(build(e, now)));
  const t = performance.now();
  for (let i = 0; i < records.length; i += 500) await store.write(records.slice(i, i + 500));
  const s = (performance.now() - t) / 1000;
  await store.close();
  sampleRss();
  return SUSTAINED_N / s;
}

async function writerSqlite(): Promise<number> {
  const dir = fresh();
  const store = openSqliteAuditStore({ path: join(dir, 'a.db') });
  const trail = await createAuditTrail(
    {
      writerId: 'bench',
      // The row measures the async writer; strict (one caller, one commit a record) is measured below.
      durability: 'async',
      spill: { dir: join(dir, 'spill') },
      buffer: { maxRecords: 20_000, batchSize: 500, flushIntervalMs: 5 },
      sinks: [{ type: 'sqlite', path: join(dir, 'a.db') }],
    },
    { sinks: [store] },
  );
  const t = performance.now();
  for (let i = 0; i < SUSTAINED_N; i++) {
    await trail.record(events[i]!);
    // Offer the event loop to the writer, as a server between requests does.
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  await trail.flush();
  const s = (performance.now() - t) / 1000;
  const st = trail.stats();
  sampleRss();
  await trail.close();
  // Signed checkpoints are on by default: they are written too.
  if (st.recorded !== SUSTAINED_N || st.written !== st.recorded + st.checkpoints) {
    throw new Error(`written ${st.written} of ${SUSTAINED_N} decisions + ${st.checkpoints} checkpoints`);
  }
  return SUSTAINED_N / s;
}

/** Per-call cost of `record()` (µs) on the caller, each call awaited, as a decision path does. */
async function callerCost(mode: 'off' | 'async' | 'strict'): Promise<number[]> {
  const dir = fresh();
  const n = mode === 'strict' ? STRICT_N : CALLER_N;
  const noop = { record: async () => undefined, close: async () => undefined };
  const store = openSqliteAuditStore({ path: join(dir, 'a.db'), synchronous: mode === 'strict' ? 'FULL' : 'NORMAL' });
  const trail =
    mode === 'off'
      ? noop
      : await createAuditTrail(
          {
            writerId: 'bench',
            durability: mode,
            spill: { dir: join(dir, 'spill') },
            buffer: { maxRecords: 50_000, batchSize: 500, flushIntervalMs: 5 },
            sinks: [{ type: 'sqlite', path: join(dir, 'a.db') }],
          },
          { sinks: [store] },
        );
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await trail.record(events[i]!);
    times.push((performance.now() - t) * 1000);
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  sampleRss();
  await trail.close();
  if (mode === 'off') await store.close();
  return times;
}

/** Strict mode with 32 concurrent callers: decisions/s (group commit). */
async function strictConcurrent(): Promise<number> {
  const dir = fresh();
  const store = openSqliteAuditStore({ path: join(dir, 'a.db'), synchronous: 'FULL' });
  const trail = await createAuditTrail(
    { writerId: 'bench', durability: 'strict', spill: { dir: join(dir, 'spill') }, sinks: [{ type: 'sqlite', path: join(dir, 'a.db') }] },
    { sinks: [store] },
  );
  let next = 0;
  const total = STRICT_N * 4;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < total) await trail.record(events[next++ % events.length]!);
    }),
  );
  const s = (performance.now() - t) / 1000;
  await trail.close();
  return total / s;
}

const r = {
  floor: [] as number[],
  writer: [] as number[],
  off: [] as number[][],
  async: [] as number[][],
  strict: [] as number[][],
  strict32: [] as number[],
};
try {
  await writerSqlite(); // warm-up
  for (let rep = 0; rep < REPS; rep++) {
    r.floor.push(await floorSqlite());
    r.writer.push(await writerSqlite());
    r.off.push(await callerCost('off'));
    r.async.push(await callerCost('async'));
    r.strict.push(await callerCost('strict'));
    r.strict32.push(await strictConcurrent());
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const fmt = (x: number, d = 1) => x.toFixed(d);
const row = (name: string, runs: number[][]) => {
  const p50 = median(runs.map((t) => pct(t, 50)));
  const p99 = median(runs.map((t) => pct(t, 99)));
  const mean = median(runs.map((t) => t.reduce((a, b) => a + b, 0) / t.length));
  return `| ${name} | ${fmt(mean, 2)} | ${fmt(p50, 2)} | ${fmt(p99, 2)} |`;
};
const floor = median(r.floor);
const writer = median(r.writer);
console.log(`# audit bench, ${new Date().toISOString()}, node ${process.version}, reps ${REPS}`);
console.log('\n## Sustained writes into SQLite (records/s, median)');
console.log('| path | records/s | ratio to floor |\n|---|---|---|');
console.log(`| floor: pre-built records, store.write in batches of 500 | ${fmt(floor, 0)} | 1.00 |`);
console.log(`| async writer: record() → build+mask+chain → batch → SQLite | ${fmt(writer, 0)} | ${fmt(writer / floor, 2)} |`);
console.log('\n## Cost of record() on the caller (µs per call, each awaited)');
console.log('| mode | mean | p50 | p99 |\n|---|---|---|---|');
console.log(row('off (no-op recorder, floor)', r.off));
console.log(row('async', r.async));
console.log(row('strict (1 caller, one commit per record, synchronous=FULL)', r.strict));
console.log(`\nstrict, 32 concurrent callers (group commit): ${fmt(median(r.strict32), 0)} records/s`);
console.log(`peak RSS: ${fmt(peakRss / 1024 / 1024, 0)} MiB`);
