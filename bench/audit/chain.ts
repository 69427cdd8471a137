/**
 * The audit thread's per-record work before the sink: the hand-over JSON parsed, then chained
 * (canonical JSON, SHA-256, the kept text). Run: `taskset -c 1 node --expose-gc --import tsx
 * bench/audit/chain.ts` from the repo root (with `--min-semi-space-size=256
 * --max-semi-space-size=256` too, so that no collection runs inside a round and the heap growth is
 * what the round allocated). Records come from the production builder (four kinds of
 * sample events); the floor is `JSON.parse` + `JSON.stringify` + SHA-256 of the same records, which
 * is what chaining would cost with no canonical form to make. Prints CPU µs and bytes allocated per
 * record (heap growth with collections held off between two forced GCs), medians of REPS rounds.
 */
import { createHash } from 'node:crypto';
import { Chainer, createRecordBuilder, makeDecisionEvent, type SampleKind } from '@argus/audit';

// 5,000 records a round: up to ~50 KiB each fit a 256 MB young generation, so no collection runs inside.
const N = Number(process.env.N ?? 5_000);
const REPS = Number(process.env.REPS ?? 9);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const kinds: SampleKind[] = ['allow', 'deny', 'hard_deny', 'proxied'];
const build = createRecordBuilder({});
// What crosses to the audit thread: one JSON text per batch of the built records.
const batch = JSON.stringify(Array.from({ length: N }, (_, i) => build(makeDecisionEvent(kinds[i % 4]!, i), new Date())));

function measure(work: (records: Record<string, unknown>[]) => void): { us: number; bytes: number } {
  const records = JSON.parse(batch) as Record<string, unknown>[];
  gc!();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  work(records);
  const cpu = process.cpuUsage(cpu0);
  const heap = process.memoryUsage().heapUsed - heap0;
  return { us: (cpu.user + cpu.system) / N, bytes: heap / N };
}

const chain = (records: Record<string, unknown>[]) => {
  const chainer = new Chainer('bench');
  for (const r of records) chainer.chain(r as never);
};
const floor = (records: Record<string, unknown>[]) => {
  for (const r of records) createHash('sha256').update(JSON.stringify(r)).digest('hex');
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Record<string, { us: number[]; bytes: number[] }> = { chain: { us: [], bytes: [] }, floor: { us: [], bytes: [] } };
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, work] of [
    ['chain', chain],
    ['floor', floor],
  ] as const) {
    const m = measure(work);
    rows[name]!.us.push(m.us);
    rows[name]!.bytes.push(m.bytes);
  }
}
for (const [name, r] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(6)} ${median(r.us).toFixed(2)} µs/record (CPU), ${(median(r.bytes) / 1024).toFixed(2)} KiB/record allocated (heap growth)`,
  );
}
