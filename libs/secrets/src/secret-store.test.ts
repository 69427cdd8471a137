import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runMigrations } from '@argus/store';
import { SecretCipher } from './cipher.ts';
import { MemorySecretStore } from './memory/memory-secret-store.ts';
import { SECRETS_MIGRATIONS, SqliteSecretStore } from './sqlite/sqlite-secret-store.ts';
import { secretStoreContract } from './testing/contract-secret-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

secretStoreContract('memory', async () => ({ store: new MemorySecretStore({ key: randomBytes(32) }) }));

secretStoreContract('sqlite', async () => {
  const sub = join(dir, `s${n++}`);
  const store = new SqliteSecretStore({ path: join(sub, 'argus.db'), key: randomBytes(32) });
  const raw = () => Buffer.concat(readdirSync(sub).map((f) => readFileSync(join(sub, f))));
  return { store, raw };
});

describe('SqliteSecretStore', () => {
  it('refuses to open values with another key', async () => {
    const path = join(dir, 'rekey.db');
    const a = new SqliteSecretStore({ path, key: randomBytes(32) });
    await a.put('k', 'value-123456');
    await a.close();
    const b = new SqliteSecretStore({ path, key: randomBytes(32) });
    await expect(b.get('k')).rejects.toThrow();
    expect((await b.list()).map((m) => m.name)).toEqual(['k']);
    await b.close();
  });

  it('persists across reopen with the same key', async () => {
    const path = join(dir, 'reopen.db');
    const key = randomBytes(32);
    const a = new SqliteSecretStore({ path, key });
    await a.put('k', 'value-abcdef');
    await a.close();
    const b = new SqliteSecretStore({ path, key });
    expect(await b.get('k')).toBe('value-abcdef');
    await b.close();
  });

  it('adopts the table of a file written before migrations: sealed values intact; a second open is a no-op', async () => {
    const path = join(dir, 'pre-migration.db');
    const key = randomBytes(32);
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(PRE_MIGRATION_DDL);
    const sealed = new SecretCipher(key).seal('crm/token', 'value-old-123456');
    old
      .prepare(
        'INSERT INTO secrets (name, description, iv, tag, ciphertext, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        'crm/token',
        'the CRM token',
        sealed.iv,
        sealed.tag,
        sealed.ciphertext,
        '2030-01-01T00:00:00.000Z',
        '2030-01-02T00:00:00.000Z',
        3,
      );
    old.close();

    const store = new SqliteSecretStore({ path, key });
    expect(await store.get('crm/token')).toBe('value-old-123456');
    expect(await store.list()).toEqual([
      {
        name: 'crm/token',
        description: 'the CRM token',
        createdAt: '2030-01-01T00:00:00.000Z',
        updatedAt: '2030-01-02T00:00:00.000Z',
        version: 3,
      },
    ]);
    expect((await store.put('crm/token', 'value-new-654321')).version).toBe(4);
    await store.close();

    const db = new Database(path);
    expect(db.prepare(`SELECT version, name FROM argus_migrations WHERE namespace = 'secrets'`).all()).toEqual([
      { version: 1, name: 'secrets' },
    ]);
    expect(runMigrations(db, 'secrets', SECRETS_MIGRATIONS)).toEqual([]);
    db.close();
    const again = new SqliteSecretStore({ path, key });
    expect(await again.get('crm/token')).toBe('value-new-654321');
    await again.close();
  });
});

/** The table as files written before migrations held it (verbatim). */
const PRE_MIGRATION_DDL = `CREATE TABLE IF NOT EXISTS secrets (
      name TEXT PRIMARY KEY,
      description TEXT,
      iv BLOB NOT NULL,
      tag BLOB NOT NULL,
      ciphertext BLOB NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      version INTEGER NOT NULL
    ) STRICT`;
