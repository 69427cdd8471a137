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
import { bindingKey, isRequester, MAX_REQUESTERS, type ApprovalRequest, type ApprovalStore } from './ports.ts';

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

const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(SHARED_REDIS_URL, prefix);
});

const ADAPTERS: Array<[string, () => ApprovalStore]> = [
  ['memory', () => new MemoryApprovalStore()],
  ['redis', () => new RedisApprovalStore(client, { prefix: prefixes[prefixes.push(testPrefix()) - 1] })],
  ['sqlite', () => new SqliteApprovalStore(new BetterSqlite3(join(dir, `requesters-${n++}.db`)))],
];

describe.each(ADAPTERS)('recording every caller that asked (%s)', (_name, open) => {
  const T = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms);

  it('records each distinct caller after the first, once, in order; not on an answered or expired request', async () => {
    const store = open();
    await store.create(newApproval('r1'));
    expect(await store.addRequester('r1', { kind: 'service', subject: 'proxy' }, T(1))).not.toHaveProperty('alsoRequestedBy');
    await store.addRequester('r1', { kind: 'admin', subject: 'admin' }, T(2));
    await store.addRequester('r1', { kind: 'agent', subject: 'support-bot' }, T(3));
    const again = await store.addRequester('r1', { kind: 'admin', subject: 'admin' }, T(4));
    expect(again?.alsoRequestedBy).toEqual([
      { kind: 'admin', subject: 'admin' },
      { kind: 'agent', subject: 'support-bot' },
    ]);
    expect(await store.get('r1', T(5))).toEqual(again);
    expect(isRequester(again!, { kind: 'admin', subject: 'admin' })).toBe(true);
    expect(isRequester(again!, { kind: 'service', subject: 'proxy' })).toBe(true);
    expect(isRequester(again!, { kind: 'human', subject: 'admin' })).toBe(false);
    expect(isRequester(again!, { subject: 'admin' })).toBe(true);

    await store.decide('r1', { decision: 'approve', by: 'carol', at: T(6) });
    expect(await store.addRequester('r1', { kind: 'human', subject: 'dave' }, T(7))).toBeUndefined();
    expect((await store.get('r1', T(8)))?.alsoRequestedBy).toHaveLength(2);
    await store.create(newApproval('r2', 0, 10));
    expect(await store.addRequester('r2', { kind: 'admin', subject: 'admin' }, T(20))).toBeUndefined();
    expect(await store.addRequester('missing', { kind: 'admin', subject: 'admin' }, T(20))).toBeUndefined();
  });

  it(`keeps at most ${MAX_REQUESTERS} callers; one more marks the request overflowed`, async () => {
    const store = open();
    await store.create(newApproval('r3'));
    let last: ApprovalRequest | undefined;
    for (let i = 1; i < MAX_REQUESTERS; i++) last = await store.addRequester('r3', { kind: 'human', subject: `h${i}` }, T(i));
    expect(last?.alsoRequestedBy).toHaveLength(MAX_REQUESTERS - 1);
    expect(last?.requestersOverflow).toBeUndefined();
    const known = await store.addRequester('r3', { kind: 'human', subject: 'h1' }, T(100));
    expect(known?.requestersOverflow).toBeUndefined();
    const over = await store.addRequester('r3', { kind: 'human', subject: 'late' }, T(101));
    expect(over).toMatchObject({ status: 'pending', requestersOverflow: true });
    expect(over?.alsoRequestedBy).toHaveLength(MAX_REQUESTERS - 1);
    expect(await store.get('r3', T(102))).toEqual(over);
  });

  it('records concurrent askers without losing one', async () => {
    const store = open();
    await store.create(newApproval('r4'));
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => store.addRequester('r4', { kind: 'service', subject: s }, T(1))));
    expect((await store.get('r4', T(2)))?.alsoRequestedBy?.map((r) => r.subject).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});
