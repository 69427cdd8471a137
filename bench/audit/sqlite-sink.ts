/**
 * The SQLite audit sink's commits, side by side in one run (in process, one core, no network):
 *   floor     — the record table with its time and id indexes only: no filter index at all (a filtered
 *               query scans every record)
 *   segments  — Argus: the filter index in sorted segments of 2,000 records, one filter per commit
 *   b-tree    — the design before: five B-tree indexes keyed by filter values (principal, root,
 *               goal, intent, outcome), each taking every record on a random page
 * Each variant starts from a file already holding PRE records (10,000 principals, 1,000 roots), then
 * commits N more in batches of BATCH (FULL sync, as in strict mode), and is queried for a common and
 * a rare principal. Variants alternate, REPS repetitions, medians. CPU is the process's user+system
 * time over the commits, per record.
 *
 * Usage: taskset -c 1 npx tsx bench/audit/sqlite-sink.ts     (REPS=3 PRE=100000 N=40000 BATCH=16)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteAuditStore } from '@argus/audit';
import type { ChainedRecord } from '@argus/audit';

const REPS = Number(process.env.REPS ?? 3);
const PRE = Number(process.env.PRE ?? 100_000);
const N = Number(process.env.N ?? 40_000);
const BATCH = Number(process.env.BATCH ?? 16);
const work = mkdtempSync(join(tmpdir(), 'argus-bench-sqlite-sink-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const T0 = Date.UTC(2026, 0, 1);
const pad = 'x'.repeat(700); // a decision record is ~1 KB

/** Record `i`: its own time-ordered id, one of 10,000 principals and 1,000 roots, 9 goals and intents. */
function record(i: number): ChainedRecord {
  return {
    kind: 'decision',
    writer: 'bench',
    seq: i + 1,
    hash: 'h'.repeat(64),
    decision_id: (T0 + i).toString(16).padStart(12, '0') + randomUUID().slice(12),
    time: new Date(T0 + i).toISOString(),
    principal: { type: 'Agent', id: `agent-${(i * 7919) % 10_000}` },
    root: { type: 'Human', id: `human-${(i * 31) % 1000}` },
    goal: `goal-${i % 9}`,
    intent: `intent-${i % 9}`,
    action: 'tool:call',
    outcome: i % 10 === 0 ? 'deny' : 'allow',
    policies: [`policy-${i % 10}`],
    pad,
  } as unknown as ChainedRecord;
}

const OLD_INDEXES = `
CREATE INDEX IF NOT EXISTS old_principal ON audit_records (principal_id, time);
CREATE INDEX IF NOT EXISTS old_root ON audit_records (root_id, time) WHERE root_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS old_goal ON audit_records (goal, time) WHERE goal IS NOT NULL;
CREATE INDEX IF NOT EXISTS old_intent ON audit_records (intent, time) WHERE intent IS NOT NULL;
CREATE INDEX IF NOT EXISTS old_outcome ON audit_records (outcome, time);`;

type Variant = 'floor' | 'segments' | 'b-tree';
interface Result {
  cpuUs: number;
  p50: number;
  p99: number;
  max: number;
  commonMs: number;
  rareMs: number;
}

async function run(variant: Variant, rep: number): Promise<Result> {
  const path = join(work, `${variant}-${rep}.db`);
  const store = openSqliteAuditStore({
    path,
    synchronous: 'FULL',
    segmentRecords: variant === 'segments' ? 2000 : Number.MAX_SAFE_INTEGER,
  });
  if (variant === 'b-tree') {
    const db = new Database(path);
    db.exec(OLD_INDEXES);
    db.close();
  }
  for (let i = 0; i < PRE; i += 2000) await store.write(Array.from({ length: 2000 }, (_, k) => record(i + k)));
  const commits: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = PRE; i < PRE + N; i += BATCH) {
    const batch = Array.from({ length: BATCH }, (_, k) => record(i + k));
    const t = performance.now();
    await store.write(batch);
    commits.push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  // The b-tree design answered through its principal index (the query it had); the others through the store.
  const old = variant === 'b-tree' ? new Database(path, { readonly: true }) : undefined;
  const byIndex = old?.prepare("SELECT record FROM audit_records WHERE kind = 'decision' AND principal_id = ? ORDER BY time DESC LIMIT 51");
  const q = async (principal: string) => {
    const t = performance.now();
    if (byIndex) byIndex.all(principal).map((r) => JSON.parse((r as { record: string }).record) as unknown);
    else await store.query({ principal }, undefined, 50);
    return performance.now() - t;
  };
  const commonMs = await q('agent-17');
  const rareMs = await q('nobody');
  old?.close();
  await store.close();
  rmSync(path, { force: true });
  commits.sort((a, b) => a - b);
  return {
    cpuUs: (c.user + c.system) / N,
    p50: commits[Math.floor(commits.length * 0.5)]!,
    p99: commits[Math.floor(commits.length * 0.99)]!,
    max: commits[commits.length - 1]!,
    commonMs,
    rareMs,
  };
}

const variants: Variant[] = ['floor', 'segments', 'b-tree'];
const results = new Map<Variant, Result[]>(variants.map((v) => [v, []]));
console.log(`SQLite audit sink: ${PRE} records stored, then ${N} committed in batches of ${BATCH} (FULL sync); ${REPS} alternating reps`);
for (let rep = 0; rep < REPS; rep++) {
  for (const v of variants) {
    const r = await run(v, rep);
    results.get(v)!.push(r);
    console.log(`  rep ${rep + 1} ${v.padEnd(8)} ${r.cpuUs.toFixed(1)} µs/record`);
  }
}
console.log('\n| variant | CPU µs per record | commit p50 / p99 / max ms | query: common / rare principal ms |');
console.log('|---|---|---|---|');
const floor = median(results.get('floor')!.map((r) => r.cpuUs));
for (const v of variants) {
  const rs = results.get(v)!;
  const m = (f: (r: Result) => number) => median(rs.map(f));
  console.log(
    `| ${v} | ${m((r) => r.cpuUs).toFixed(1)} (${(m((r) => r.cpuUs) / floor).toFixed(2)}× floor; ${rs.map((r) => r.cpuUs.toFixed(0)).join(' · ')}) | ${m((r) => r.p50).toFixed(2)} / ${m((r) => r.p99).toFixed(1)} / ${m((r) => r.max).toFixed(1)} | ${m((r) => r.commonMs).toFixed(1)} / ${m((r) => r.rareMs).toFixed(1)} |`,
  );
}
rmSync(work, { recursive: true, force: true });
