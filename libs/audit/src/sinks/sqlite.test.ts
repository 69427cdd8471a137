import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '@argus/store';
import { serializedRecord } from '../chain.ts';
import { describeQueryStoreContract, sampleChain } from '../testing/query-store-contract.ts';
import { AUDIT_MIGRATIONS, openSqliteAuditStore } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-audit-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeQueryStoreContract('sqlite', async () => openSqliteAuditStore({ path: join(dir, `db-${n++}`, 'audit.db') }));

describe('sqlite audit store', () => {
  it('uses WAL, its own table and the query indexes', async () => {
    const path = join(dir, 'schema.db');
    const store = openSqliteAuditStore({ path });
    await store.write(sampleChain(2));
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // Each commit writes every page it dirtied: small pages for a new file.
    expect(db.pragma('page_size', { simple: true })).toBe(4096);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'").all() as Array<{ name: string }>
    ).map((r) => r.name);
    expect(indexes).toEqual(
      expect.arrayContaining([
        'audit_records_time',
        'audit_records_principal',
        'audit_records_root_set',
        'audit_records_goal_set',
        'audit_records_intent_set',
        'audit_records_outcome',
      ]),
    );
    // The partial indexes (only records that have a goal, a root, an intent) still serve equality filters.
    for (const column of ['goal', 'root_id', 'intent']) {
      const plan = (
        db
          .prepare(
            `EXPLAIN QUERY PLAN SELECT record FROM audit_records r WHERE r.kind = 'decision' AND r.${column} = ? ORDER BY r.time DESC LIMIT 10`,
          )
          .all('x') as Array<{ detail: string }>
      )
        .map((r) => r.detail)
        .join(' ');
      expect(plan, column).toMatch(/USING INDEX audit_records_\w+_set/);
    }
    expect(db.prepare('SELECT count(*) AS n FROM audit_records').get()).toEqual({ n: 2 });
    db.close();
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
      const d = r.kind === 'decision' ? r : undefined;
      insert.run(
        r.writer,
        r.seq,
        r.kind,
        d?.decision_id ?? null,
        r.time,
        d?.principal.type ?? null,
        d?.principal.id ?? null,
        d?.root?.id ?? null,
        d?.goal ?? null,
        d?.intent ?? null,
        d?.action ?? null,
        d?.outcome ?? null,
        r.hash,
        serializedRecord(r),
      );
      for (const p of new Set(d?.policies ?? []))
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
    ]);
    const indexes = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'").all() as Array<{ name: string }>
    ).map((r) => r.name);
    expect(indexes).not.toContain('audit_records_goal');
    expect(indexes).toContain('audit_records_goal_set');
    expect(runMigrations(db, 'audit', AUDIT_MIGRATIONS)).toEqual([]);
    db.close();
    const again = openSqliteAuditStore({ path });
    expect(await again.head('w1')).toMatchObject({ seq: 5 });
    await again.close();
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
