import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '../testing/index.ts';
import { MemoryApprovalStore } from './memory-approval-store.ts';
import { RedisApprovalStore } from './redis-approval-store.ts';
import { SqliteApprovalStore } from './sqlite-approval-store.ts';
import { openSqlite } from '../sqlite/open.ts';
import { runMigrations, STORE_MIGRATIONS } from '../sqlite/migrations.ts';
import { approvalStoreContract, binding, newApproval } from '../testing/contract-approvals.ts';
import { bindingKey, type ApprovalRequest } from './ports.ts';

let client: Redis;
const dir = mkdtempSync(join(tmpdir(), 'argus-approvals-'));

beforeAll(async () => {
  client = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
});
afterAll(async () => {
  await client.quit();
  rmSync(dir, { recursive: true, force: true });
});

approvalStoreContract('memory', async () => ({ store: new MemoryApprovalStore(), close: async () => {} }));

approvalStoreContract('redis', async () => {
  const prefix = testPrefix();
  return { store: new RedisApprovalStore(client, { prefix }), close: async () => void (await deleteKeys(SHARED_REDIS_URL, prefix)) };
});

let n = 0;
approvalStoreContract('sqlite', async () => {
  const db = new BetterSqlite3(join(dir, `approvals-${n++}.db`));
  db.pragma('journal_mode = WAL');
  return { store: new SqliteApprovalStore(db), close: async () => void db.close() };
});

/** The table as the SQLite adapter created it itself before store migration 7 (verbatim). */
const PRE_MIGRATION_SCHEMA = `
CREATE TABLE IF NOT EXISTS argus_approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  binding_key TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS argus_approvals_binding ON argus_approvals (binding_key, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS argus_approvals_status_created ON argus_approvals (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS argus_approvals_created ON argus_approvals (created_at DESC, id DESC);
`;

describe('SQLite approvals table (store migration 7)', () => {
  it('adopts the table a database created before the migration holds: rows intact, still usable; a second open changes nothing', async () => {
    const path = join(dir, 'pre-migration.db');
    const old = new BetterSqlite3(path);
    runMigrations(
      old,
      'store',
      STORE_MIGRATIONS.filter((m) => m.version < 7),
    );
    old.exec(PRE_MIGRATION_SCHEMA);
    const rows: ApprovalRequest[] = [
      { ...newApproval('old-pending', 0, 3_600_000), status: 'pending' },
      {
        ...newApproval('old-approved', 1_000, 3_600_000, binding('crm.update')),
        status: 'approved',
        decidedBy: 'alice',
        decidedAt: '2030-01-01T00:00:02.000Z',
      },
    ];
    const insert = old.prepare(
      'INSERT INTO argus_approvals (id, status, created_at, expires_at_ms, binding_key, record) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const r of rows) insert.run(r.id, r.status, r.createdAt, Date.parse(r.expiresAt), bindingKey(r), JSON.stringify(r));
    old.close();

    const upgraded = openSqlite(path);
    const versions = upgraded.db.prepare(`SELECT version FROM argus_migrations WHERE namespace = 'store' AND version = 7`).all();
    expect(versions).toEqual([{ version: 7 }]);
    const store = new SqliteApprovalStore(upgraded.db);
    const now = new Date('2030-01-01T00:00:05.000Z');
    expect(await store.get('old-pending', now)).toEqual(rows[0]);
    expect(await store.findPending(binding(), now)).toEqual(rows[0]);
    expect((await store.list({}, now)).items.map((r) => r.id)).toEqual(['old-approved', 'old-pending']);
    const used = await store.consume('old-approved', { binding: binding('crm.update'), decisionId: 'd-retry', at: now });
    expect(used.ok && used.request.status).toBe('consumed');
    upgraded.db.close();

    const again = openSqlite(path);
    expect(runMigrations(again.db, 'store', STORE_MIGRATIONS)).toEqual([]);
    expect((again.db.prepare(`SELECT count(*) AS n FROM argus_migrations WHERE namespace = 'store'`).get() as { n: number }).n).toBe(
      STORE_MIGRATIONS.length,
    );
    expect((await new SqliteApprovalStore(again.db).get('old-approved', now))?.consumedBy).toBe('d-retry');
    again.db.close();
  });

  it('creates the table in a new database through the migration, not the adapter', () => {
    const s = openSqlite(':memory:');
    expect(
      s.db
        .prepare(
          `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'argus_approvals' AND name LIKE 'argus_approvals_%' ORDER BY name`,
        )
        .all(),
    ).toEqual([{ name: 'argus_approvals_binding' }, { name: 'argus_approvals_created' }, { name: 'argus_approvals_status_created' }]);
    s.db.close();
  });
});
