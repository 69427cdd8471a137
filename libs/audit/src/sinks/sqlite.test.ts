import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '@argus/store';
import { serializedRecord } from '../chain.ts';
import { describeQueryStoreContract, sampleChain } from '../testing/query-store-contract.ts';
import type { AuditQueryFilters, AuditQueryStore, AuditRecord } from '../types.ts';
import { createMemoryAuditStore } from './memory.ts';
import { createSinks } from './index.ts';
import { Checkpointer } from './sqlite-checkpointer.ts';
import { AUDIT_MIGRATIONS, openSqliteAuditStore, ROW_COLUMNS, rowColumns, type SqliteAuditStore } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-audit-sqlite-'));

/** Waits until `done()` holds (at most 10 s). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(done()).toBe(true);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeQueryStoreContract('sqlite', async () => openSqliteAuditStore({ path: join(dir, `db-${n++}`, 'audit.db') }));
// The same with segments of 3 records: every query reads several segments and a tail.
describeQueryStoreContract('sqlite, small segments', async () =>
  openSqliteAuditStore({ path: join(dir, `db-${n++}`, 'audit.db'), segmentRecords: 3 }),
);

describe('sqlite audit store', () => {
  it('uses WAL, 4 KB pages, the time and id indexes, and writes the filter index a segment at a time', async () => {
    const path = join(dir, 'schema.db');
    const store = openSqliteAuditStore({ path, segmentRecords: 3 });
    const records = sampleChain(20);
    for (const r of records) await store.write([r]);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // Each commit writes every page it dirtied: small pages for a new file.
    expect(db.pragma('page_size', { simple: true })).toBe(4096);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'").all() as Array<{ name: string }>
    ).map((r) => r.name);
    // No index keyed by a filter value: each would take every record on a random page.
    expect(indexes.sort()).toEqual(['audit_records_decision', 'audit_records_time', 'sqlite_autoindex_audit_records_1']);
    // Segments of 3 records in order, each complete (its 7 filters) a moment after its records; a tail of 2.
    const segments = db.prepare('SELECT first_rowid AS first, last_rowid AS last, done FROM audit_facet_segments ORDER BY seg');
    const expected = Array.from({ length: 6 }, (_, i) => ({ first: 3 * i, last: 3 * i + 3, done: 7 }));
    await until(() => JSON.stringify(segments.all()) === JSON.stringify(expected));
    expect(segments.all()).toEqual(expected);
    expect(db.prepare('SELECT DISTINCT facet FROM audit_facets ORDER BY facet').pluck().all()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const principals = db.prepare('SELECT DISTINCT seq FROM audit_facets WHERE facet = 1 ORDER BY seq').pluck().all();
    expect(principals).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    // A segment is read through its key, its records through (writer, seq): no scan.
    const plan = (
      db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT r.record FROM audit_facets f JOIN audit_records r ON r.writer = f.writer AND r.seq = f.seq
           WHERE f.seg = 1 AND f.facet = 1 AND f.value = 'x' ORDER BY f.time DESC, f.writer DESC, f.seq DESC LIMIT 10`,
        )
        .all() as Array<{ detail: string }>
    ).map((r) => r.detail);
    expect(plan.join(' | ')).toMatch(/SEARCH f USING PRIMARY KEY \(seg=\? AND facet=\? AND value=\?\)/);
    expect(plan.join(' | ')).toMatch(/SEARCH r USING INDEX sqlite_autoindex_audit_records_1 \(writer=\? AND seq=\?\)/);
    expect(db.prepare('SELECT count(*) AS n FROM audit_records').get()).toEqual({ n: 20 });
    db.close();
    await store.close();
  });

  it('writes no filter inside a write (its callers are answered first), then one filter per turn', async () => {
    const path = join(dir, 'index-after.db');
    const store = openSqliteAuditStore({ path, segmentRecords: 5 });
    const db = new Database(path, { readonly: true });
    const done = db.prepare('SELECT coalesce(sum(done), 0) FROM audit_facet_segments').pluck();
    await store.write(sampleChain(10));
    expect(done.get()).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(done.get()).toBe(1);
    await until(() => done.get() === 14);
    db.close();
    await store.close();
  });

  it('indexes the policy filter from the `policies` column, and from the record text for rows written before the column', async () => {
    const path = join(dir, 'policies-column.db');
    const store = openSqliteAuditStore({ path, segmentRecords: 2 });
    const records = sampleChain(8);
    await store.write(records.slice(0, 4));
    // Rows 1-2 as a file written before the column holds them (their segment is not indexed yet:
    // the index runs after the write's callers were answered).
    const raw = new Database(path);
    raw.prepare('UPDATE audit_records SET policies = NULL WHERE seq <= 2').run();
    await store.write(records.slice(4));
    const done = raw.prepare('SELECT count(*) FROM audit_facet_segments WHERE done = 7').pluck();
    await until(() => done.get() === 4);
    const decisions = records.filter((r): r is AuditRecord => r.kind === 'decision');
    expect(decisions.some((r) => r.seq <= 2 && r.policies.length > 0)).toBe(true);
    expect(raw.prepare('SELECT seq, policies FROM audit_records WHERE seq > 2 ORDER BY seq').all()).toEqual(
      records.filter((r) => r.seq > 2).map((r) => ({ seq: r.seq, policies: r.kind === 'decision' ? JSON.stringify(r.policies) : null })),
    );
    const expected = decisions
      .flatMap((r) => [...new Set(r.policies)].map((value) => ({ value, seq: r.seq })))
      .sort((a, b) => a.seq - b.seq || (a.value < b.value ? -1 : 1));
    expect(raw.prepare('SELECT value, seq FROM audit_facets WHERE facet = 7 ORDER BY seq, value').all()).toEqual(expected);
    raw.close();
    await store.close();
  });

  it('verifies that every query column of each row holds what its record says (the hash covers the record only)', async () => {
    const path = join(dir, 'verify-columns.db');
    const store = openSqliteAuditStore({ path });
    const records = sampleChain(8);
    await store.write(records);
    const raw = new Database(path);
    // The writer fills the columns with `rowColumns`.
    const rows = raw
      .prepare(`SELECT ${ROW_COLUMNS.join(', ')} FROM audit_records ORDER BY rowid`)
      .raw(true)
      .all();
    expect(rows).toEqual(records.map(rowColumns));
    expect(store.verify(1, 8)).toMatchObject({ ok: true, checked: 8 });
    // A row written before the `policies` column (NULL: its readers use the record text) is intact.
    raw.prepare('UPDATE audit_records SET policies = NULL WHERE seq = 2').run();
    expect(store.verify(1, 8).ok).toBe(true);
    const edits: Array<[string, unknown]> = [
      ['outcome', 'allow'],
      ['principal_id', 'x'],
      ['principal_type', 'Human'],
      ['root_id', null],
      ['goal', 'other'],
      ['intent', 'other'],
      ['action', 'other'],
      ['decision_id', 'other'],
      ['time', '2000-01-01T00:00:00.000Z'],
      ['kind', 'checkpoint'],
      ['policies', '["forged"]'],
      ['writer', 'w2'],
      ['seq', 103],
    ];
    for (const [column, value] of edits) {
      const before = raw.prepare(`SELECT ${column} FROM audit_records WHERE seq = 3`).pluck().get();
      raw.prepare(`UPDATE audit_records SET ${column} = ? WHERE seq = 3 AND writer = 'w1'`).run(value);
      const v = store.verify(1, 200);
      expect(v.ok, column).toBe(false);
      expect(v.first, column).toMatchObject({ kind: 'column_mismatch', seq: 3, column, writer: 'w1' });
      raw.prepare(`UPDATE audit_records SET ${column} = ? WHERE rowid = 3`).run(before);
      expect(store.verify(1, 8).ok, column).toBe(true);
    }
    // The writer option ranges on the column, as before.
    expect(store.verify(1, 8, { writer: 'w1' })).toMatchObject({ ok: true, checked: 8 });
    expect(store.verify(1, 8, { writer: 'nobody' })).toMatchObject({ ok: true, checked: 0 });
    raw.close();
    await store.close();
  });

  it('answers every filter, page and cursor as the memory store does, across segments, their tail and several writers', async () => {
    // A deterministic generator (no flakes): times repeat and go back and forth, so the order of
    // the pages is not the order of the segments.
    let state = 0x2545f491;
    const rand = (k: number) => {
      state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
      return state % k;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const base = sampleChain(1)[0] as AuditRecord;
    const seqs: Record<string, number> = {};
    const records: AuditRecord[] = Array.from({ length: 400 }, () => {
      const writer = pick(['w1', 'w2', 'w3']);
      const seq = (seqs[writer] = (seqs[writer] ?? 0) + 1);
      const root = pick(['alice', 'bob', undefined]);
      const goal = pick(['g1', 'g2', undefined]);
      const rec = {
        ...(JSON.parse(JSON.stringify(base)) as AuditRecord),
        writer,
        seq,
        decision_id: `d-${writer}-${seq}`,
        time: new Date(Date.UTC(2026, 0, 1) + rand(60) * 1000).toISOString(),
        principal: { type: pick(['Agent', 'Human']), id: pick(['a1', 'a2', 'a3', 'a4']) },
        action: pick(['tool:call', 'llm:invoke']),
        intent: pick(['i1', 'i2']),
        outcome: pick(['allow', 'deny', 'needs_approval'] as const),
        policies: [...new Set([pick(['p1', 'p2', 'p3']), pick(['p1', 'p4'])])].slice(0, rand(3)),
      } as AuditRecord;
      delete (rec as { root?: unknown }).root;
      delete (rec as { goal?: unknown }).goal;
      return { ...rec, ...(root ? { root: { type: 'Human', id: root } } : {}), ...(goal ? { goal } : {}) } as AuditRecord;
    });
    const sqlite = openSqliteAuditStore({ path: join(dir, 'differential.db'), segmentRecords: 7 });
    const memory = createMemoryAuditStore();
    for (let i = 0; i < records.length;) {
      const batch = records.slice(i, (i += 1 + rand(25)));
      await sqlite.write(batch);
      await memory.write(batch);
    }
    const filterPool: Array<() => AuditQueryFilters> = [
      () => ({ principal: pick(['a1', 'a2', 'Agent::a3', 'Human::"a4"', 'nobody']) }),
      () => ({ root: pick(['alice', 'bob', 'carol']) }),
      () => ({ goal: pick(['g1', 'g2']) }),
      () => ({ intent: pick(['i1', 'i2']) }),
      () => ({ action: pick(['tool:call', 'llm:invoke']) }),
      () => ({ outcome: pick(['allow', 'deny', 'needs_approval'] as const) }),
      () => ({ policy: pick(['p1', 'p2', 'p3', 'p4', 'p9']) }),
      () => ({ from: new Date(Date.UTC(2026, 0, 1) + rand(60) * 1000).toISOString() }),
      () => ({ to: new Date(Date.UTC(2026, 0, 1) + rand(60) * 1000).toISOString() }),
    ];
    const pages = async (store: AuditQueryStore, filters: AuditQueryFilters, limit: number) => {
      const out: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query(filters, cursor, limit);
        out.push(page.records.map((r) => `${r.writer}:${r.seq}`));
        cursor = page.nextCursor;
      } while (cursor && out.length < 500);
      return out;
    };
    let nonEmpty = 0;
    for (let q = 0; q < 150; q++) {
      const filters: AuditQueryFilters = Object.assign({}, ...Array.from({ length: 1 + rand(3) }, () => pick(filterPool)()));
      const limit = 1 + rand(30);
      const expected = await pages(memory, filters, limit);
      expect(await pages(sqlite, filters, limit), JSON.stringify({ filters, limit })).toEqual(expected);
      if (expected.flat().length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(50);
    await sqlite.close();
  });

  it('fails a write while another connection holds the database locked', async () => {
    const path = join(dir, 'locked.db');
    const store = openSqliteAuditStore({ path, busyTimeoutMs: 0 });
    const other = new Database(path);
    other.exec('BEGIN EXCLUSIVE');
    await expect(store.write(sampleChain(1))).rejects.toThrow(/locked|busy/i);
    other.exec('ROLLBACK');
    other.close();
    await store.write(sampleChain(1));
    expect(await store.head('w1')).toMatchObject({ seq: 1 });
    await store.close();
  });

  it('opens read-only for the CLI and refuses a missing file', async () => {
    const path = join(dir, 'ro.db');
    const w = openSqliteAuditStore({ path });
    await w.write(sampleChain(3));
    await w.close();
    const ro = openSqliteAuditStore({ path, readonly: true });
    expect([...ro.iterate(1, 10)].map((r) => r.seq)).toEqual([1, 2, 3]);
    await expect(ro.write(sampleChain(1))).rejects.toThrow(/read-only/);
    await ro.close();
    expect(() => openSqliteAuditStore({ path: join(dir, 'missing.db'), readonly: true })).toThrow(/cannot open/);
  });

  it('adopts a file written before migrations: rows, chain head and queries intact, the old full indexes replaced; a second open is a no-op', async () => {
    const path = join(dir, 'pre-migration.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(PRE_MIGRATION_DDL);
    const records = sampleChain(4);
    const insert = old.prepare(
      `INSERT INTO audit_records (writer, seq, kind, decision_id, time, principal_type, principal_id, root_id, goal, intent, action, outcome, hash, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of records) {
      // The columns the writer fills, up to `hash` (a file before migrations had no `policies`).
      insert.run(...rowColumns(r).slice(0, 13), serializedRecord(r));
      for (const p of new Set(r.kind === 'decision' ? r.policies : []))
        old.prepare('INSERT INTO audit_record_policies (policy, writer, seq) VALUES (?, ?, ?)').run(p, r.writer, r.seq);
    }
    old.close();

    const store = openSqliteAuditStore({ path });
    expect(await store.head('w1')).toEqual({ seq: 4, hash: records[3]!.hash });
    expect(await store.range(1, 4, 'w1')).toEqual(records);
    const gated = records.find((r) => r.kind === 'decision' && r.policies.length > 0);
    if (gated?.kind !== 'decision') throw new Error('the sample chain has a decision with policies');
    const byPolicy = await store.query({ policy: gated.policies[0]! }, undefined, 10);
    expect(byPolicy.records.map((r) => r.kind === 'decision' && r.decision_id)).toContain(gated.decision_id);
    await store.write(sampleChain(5).slice(4));
    await store.close();

    const db = new Database(path);
    expect(db.prepare(`SELECT version, name FROM argus_migrations WHERE namespace = 'audit'`).all()).toEqual([
      { version: 1, name: 'audit-records' },
      { version: 2, name: 'audit-facet-segments' },
      { version: 3, name: 'audit-policies-column' },
    ]);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'").all() as Array<{ name: string }>
    ).map((r) => r.name);
    expect(indexes).not.toContain('audit_records_goal');
    expect(indexes).not.toContain('audit_records_goal_set');
    expect(runMigrations(db, 'audit', AUDIT_MIGRATIONS)).toEqual([]);
    db.close();
    const again = openSqliteAuditStore({ path });
    expect(await again.head('w1')).toMatchObject({ seq: 5 });
    await again.close();
  });

  it('indexes a file written before segments in the background, a few ms at a time, and answers it meanwhile', async () => {
    const path = join(dir, 'backlog.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(PRE_MIGRATION_DDL);
    const records = sampleChain(6001) as AuditRecord[];
    const insert = old.prepare(
      `INSERT INTO audit_records (writer, seq, kind, decision_id, time, principal_type, principal_id, root_id, goal, intent, action, outcome, hash, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    old.transaction(() => {
      for (const r of records.slice(0, 6000))
        insert.run(
          r.writer,
          r.seq,
          r.kind,
          r.decision_id,
          r.time,
          r.principal.type,
          r.principal.id,
          r.root?.id ?? null,
          r.goal ?? null,
          r.intent ?? null,
          r.action,
          r.outcome,
          r.hash,
          serializedRecord(r),
        );
    })();
    old.close();
    const store = openSqliteAuditStore({ path, segmentRecords: 1000 });
    const planners = (await store.query({ principal: 'planner' }, undefined, 10_000)).records.length;
    expect(planners).toBe(records.slice(0, 6000).filter((r) => r.principal.id === 'planner').length);
    await store.write(records.slice(6000)); // one write; the rest catches up on its own
    const db = new Database(path, { readonly: true });
    const complete = db.prepare('SELECT count(*) FROM audit_facet_segments WHERE done = 7').pluck();
    await until(() => complete.get() === 6);
    expect((await store.query({ principal: 'planner' }, undefined, 10_000)).records.length).toBe(
      planners + (records[6000]!.principal.id === 'planner' ? 1 : 0),
    );
    db.close();
    await store.close();
  });
});

/** The tables as files written before migrations held them, with the full indexes of the oldest ones. */
const PRE_MIGRATION_DDL = `
CREATE TABLE IF NOT EXISTS audit_records (
  writer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  decision_id TEXT,
  time TEXT NOT NULL,
  principal_type TEXT,
  principal_id TEXT,
  root_id TEXT,
  goal TEXT,
  intent TEXT,
  action TEXT,
  outcome TEXT,
  hash TEXT NOT NULL,
  record TEXT NOT NULL,
  UNIQUE (writer, seq)
);
CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records (time, writer, seq);
CREATE INDEX IF NOT EXISTS audit_records_decision ON audit_records (decision_id);
CREATE INDEX IF NOT EXISTS audit_records_principal ON audit_records (principal_id, time);
CREATE INDEX IF NOT EXISTS audit_records_root ON audit_records (root_id, time);
CREATE INDEX IF NOT EXISTS audit_records_goal ON audit_records (goal, time);
CREATE INDEX IF NOT EXISTS audit_records_intent ON audit_records (intent, time);
CREATE INDEX IF NOT EXISTS audit_records_outcome ON audit_records (outcome, time);
CREATE TABLE IF NOT EXISTS audit_record_policies (
  policy TEXT NOT NULL,
  writer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (policy, writer, seq)
) WITHOUT ROWID;
`;

describe('durability levels on the SQLite sink', () => {
  it('syncs every commit only with durability strict (process and async leave the WAL to the OS)', async () => {
    const expected = { strict: 'FULL', process: 'NORMAL', async: 'NORMAL' } as const;
    for (const [durability, synchronous] of Object.entries(expected) as Array<[keyof typeof expected, string]>) {
      const { sinks, query } = await createSinks({ durability, sinks: [{ type: 'sqlite', path: join(dir, `levels-${durability}.db`) }] });
      expect((query as SqliteAuditStore).synchronous).toBe(synchronous);
      await Promise.all(sinks.map((s) => s.close()));
    }
  });
});

describe('WAL checkpoints on their own thread', () => {
  it('hands them to the thread once enough was written, takes them back when it ends idle, and closes cleanly', async () => {
    const path = join(dir, 'checkpoints', 'audit.db');
    const store = openSqliteAuditStore({ path, checkpointThreadAfter: 100, checkpointThreadIdleMs: 300 });
    const records = sampleChain(1200);
    const mainFile = () => statSync(path).size;
    const empty = mainFile();
    // Below the threshold the writer checkpoints itself, and 99 records are far below its 1,000 pages.
    await store.write(records.slice(0, 99));
    expect(store.checkpointing).toBe('writer');
    await new Promise((r) => setTimeout(r, 300));
    expect(mainFile()).toBe(empty);
    // The 100th record starts the thread; what the WAL holds reaches the database file with no
    // further write (the writer's own threshold is now 10,000 pages, far above these few hundred).
    await store.write(records.slice(99, 600));
    await until(() => store.checkpointing === 'thread');
    await until(() => mainFile() > empty + 200_000);
    // Idle, the thread ends and the writer checkpoints again; traffic starts it anew.
    await until(() => store.checkpointing === 'writer');
    await store.write(records.slice(600, 1200));
    await until(() => store.checkpointing === 'thread');
    await store.close();
    // The writer's connection closed last: the WAL is folded in and removed, every record is there.
    expect(existsSync(`${path}-wal`)).toBe(false);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM audit_records').pluck().get()).toBe(1200);
    db.close();
  });

  it('ends without harm when its file cannot be opened (the writer keeps its own checkpoints)', async () => {
    let ready = false;
    await new Promise<void>((resolve) => {
      new Checkpointer({ path: join(dir, 'missing', 'audit.db'), synchronous: 'NORMAL', onReady: () => (ready = true), onEnd: resolve });
    });
    expect(ready).toBe(false);
  });

  it('is what the audit trail configures for its SQLite sink', async () => {
    const { sinks, query } = await createSinks({
      durability: 'process',
      sinks: [{ type: 'sqlite', path: join(dir, 'trail-checkpoints.db') }],
    });
    const store = query as SqliteAuditStore;
    await store.write(sampleChain(999));
    expect(store.checkpointing).toBe('writer');
    await store.write(sampleChain(1001).slice(999));
    await until(() => store.checkpointing === 'thread');
    await Promise.all(sinks.map((s) => s.close()));
  });
});
