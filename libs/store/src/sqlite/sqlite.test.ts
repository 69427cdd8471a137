import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { delegationStoreContract, goalStoreContract, policyVersionStoreContract, registryStoreContract } from '../testing/index.ts';
import { openSqlite } from './open.ts';
import { runMigrations, STORE_MIGRATIONS } from './migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-store-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh database file per test, so WAL mode and migrations run on a real file. */
function fresh(clock: { now: () => Date }) {
  const s = openSqlite(join(dir, `t${n++}.db`), { clock: clock.now });
  return {
    s,
    close: async () => {
      s.db.close();
    },
  };
}

registryStoreContract('sqlite', async (clock) => {
  const { s, close } = fresh(clock);
  return { store: s.registry, close };
});
policyVersionStoreContract('sqlite', async (clock) => {
  const { s, close } = fresh(clock);
  return { store: s.policies, close };
});
delegationStoreContract('sqlite', async (clock) => {
  const { s, close } = fresh(clock);
  return { store: s.delegations, close };
});
goalStoreContract('sqlite', async (clock) => {
  const { s, close } = fresh(clock);
  return { store: s.goals, close };
});

describe('sqlite adapter', () => {
  it('uses WAL and records every migration once', () => {
    const path = join(dir, 'migrations.db');
    const s = openSqlite(path);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const rows = s.db.prepare(`SELECT version, name FROM argus_migrations WHERE namespace = 'store' ORDER BY version`).all();
    expect(rows).toEqual(STORE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(runMigrations(s.db, 'store', STORE_MIGRATIONS)).toEqual([]);
    s.db.close();
    const again = openSqlite(path);
    expect((again.db.prepare('SELECT count(*) AS n FROM argus_migrations').get() as { n: number }).n).toBe(STORE_MIGRATIONS.length);
    again.db.close();
  });

  it('applies only new migrations of a namespace and rolls back a failing one', () => {
    const db = new BetterSqlite3(':memory:');
    expect(runMigrations(db, 'audit', [{ version: 1, name: 'one', up: 'CREATE TABLE a (x INTEGER)' }])).toEqual([1]);
    expect(
      runMigrations(db, 'audit', [
        { version: 1, name: 'one', up: 'CREATE TABLE a (x INTEGER)' },
        { version: 2, name: 'two', up: 'CREATE TABLE b (x INTEGER)' },
      ]),
    ).toEqual([2]);
    expect(() =>
      runMigrations(db, 'audit', [{ version: 3, name: 'bad', up: 'CREATE TABLE c (x INTEGER); CREATE TABLE a (y INTEGER)' }]),
    ).toThrow();
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'c'`).get()).toBeUndefined();
    expect((db.prepare(`SELECT max(version) AS v FROM argus_migrations WHERE namespace = 'audit'`).get() as { v: number }).v).toBe(2);
    db.close();
  });

  it('keeps data across reopen of the same file', async () => {
    const path = join(dir, 'reopen.db');
    const a = openSqlite(path);
    await a.registry.createAgent({ id: 'bot', name: 'Bot' }, 'admin');
    a.db.close();
    const b = openSqlite(path);
    expect((await b.registry.getAgent('bot'))?.name).toBe('Bot');
    b.db.close();
  });
});
