import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { runMigrations, type Migration } from '@argus/store';
import { SecretCipher } from '../cipher.ts';
import { assertSecretName } from '../names.ts';
import type { PutSecretOptions, SecretMetadata, SecretStore } from '../ports.ts';

interface SecretRow {
  name: string;
  description: string | null;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
  created_at: string;
  updated_at: string;
  version: number;
}

/**
 * The versioned schema of the `secrets` table (namespace `secrets` of `argus_migrations`, applied by
 * the store's runner). Version 1 is the table files had before migrations, created IF NOT EXISTS
 * so a file written before adopts it with its sealed values. A change to the schema is a new version.
 */
export const SECRETS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'secrets',
    up: `CREATE TABLE IF NOT EXISTS secrets (
      name TEXT PRIMARY KEY,
      description TEXT,
      iv BLOB NOT NULL,
      tag BLOB NOT NULL,
      ciphertext BLOB NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      version INTEGER NOT NULL
    ) STRICT`,
  },
];

/**
 * Secrets in an SQLite file, in their own `secrets` table. Only sealed bytes (AES-256-GCM) reach
 * the file; the key never does.
 */
export class SqliteSecretStore implements SecretStore {
  readonly #db: Database.Database;
  readonly #cipher: SecretCipher;
  readonly #now: () => Date;
  readonly #stmts: {
    get: Database.Statement<[string], SecretRow>;
    upsert: Database.Statement<[Record<string, unknown>]>;
    del: Database.Statement<[string]>;
    list: Database.Statement<[], SecretRow>;
  };

  constructor(options: { path: string; key: Buffer; now?: () => Date }) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    runMigrations(this.#db, 'secrets', SECRETS_MIGRATIONS);
    this.#cipher = new SecretCipher(options.key);
    this.#now = options.now ?? (() => new Date());
    this.#stmts = {
      get: this.#db.prepare('SELECT * FROM secrets WHERE name = ?'),
      upsert: this.#db.prepare(`INSERT INTO secrets (name, description, iv, tag, ciphertext, created_at, updated_at, version)
        VALUES (@name, @description, @iv, @tag, @ciphertext, @now, @now, 1)
        ON CONFLICT(name) DO UPDATE SET description = COALESCE(@description, description), iv = @iv, tag = @tag,
          ciphertext = @ciphertext, updated_at = @now, version = version + 1`),
      del: this.#db.prepare('DELETE FROM secrets WHERE name = ?'),
      list: this.#db.prepare('SELECT * FROM secrets ORDER BY name'),
    };
  }

  async put(name: string, value: string, options: PutSecretOptions = {}): Promise<SecretMetadata> {
    assertSecretName(name);
    const sealed = this.#cipher.seal(name, value);
    this.#stmts.upsert.run({ name, description: options.description ?? null, ...sealed, now: this.#now().toISOString() });
    return toMeta(this.#stmts.get.get(name)!);
  }

  async get(name: string): Promise<string | undefined> {
    const row = this.#stmts.get.get(name);
    return row ? this.#cipher.open(name, row) : undefined;
  }

  async delete(name: string): Promise<boolean> {
    return this.#stmts.del.run(name).changes > 0;
  }

  async list(): Promise<SecretMetadata[]> {
    return this.#stmts.list.all().map(toMeta);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toMeta(row: SecretRow): SecretMetadata {
  return {
    name: row.name,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    ...(row.description !== null ? { description: row.description } : {}),
  };
}
