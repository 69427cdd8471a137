import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeQueryStoreContract, sampleChain } from '../testing/query-store-contract.ts';
import { openSqliteAuditStore } from './sqlite.ts';

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
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'").all() as Array<{ name: string }>).map((r) => r.name);
    expect(indexes).toEqual(expect.arrayContaining(['audit_records_time', 'audit_records_principal', 'audit_records_root_set', 'audit_records_goal_set', 'audit_records_intent_set', 'audit_records_outcome']));
    // The partial indexes (only records that have a goal, a root, an intent) still serve equality filters.
    for (const column of ['goal', 'root_id', 'intent']) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT record FROM audit_records r WHERE r.kind = 'decision' AND r.${column} = ? ORDER BY r.time DESC LIMIT 10`).all('x') as Array<{ detail: string }>).map((r) => r.detail).join(' ');
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
});
