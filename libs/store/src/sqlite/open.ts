import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { UnavailableError } from '@argus/platform';
import { systemClock, type Clock } from '../paging.ts';
import { runMigrations, STORE_MIGRATIONS } from './migrations.ts';
import { SqliteDelegationStore } from './delegation-store.ts';
import { SqliteGoalStore } from './goal-store.ts';
import { SqlitePolicyVersionStore } from './policy-version-store.ts';
import { SqliteRegistryStore } from './registry-store.ts';

/** The SQLite stores over one database handle. */
export interface SqliteStores {
  db: Database;
  registry: SqliteRegistryStore;
  policies: SqlitePolicyVersionStore;
  delegations: SqliteDelegationStore;
  goals: SqliteGoalStore;
}

/**
 * Opens (creating the folder if needed) a SQLite database in WAL mode with a busy timeout and
 * applies the store migrations. `path` `:memory:` gives a private in-memory database.
 */
export function openSqlite(path: string, options: { clock?: Clock; busyTimeoutMs?: number } = {}): SqliteStores {
  let db: Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new BetterSqlite3(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  } catch (err) {
    throw new UnavailableError(`cannot open SQLite database \`${path}\``, err);
  }
  cacheStatements(db);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  runMigrations(db, 'store', STORE_MIGRATIONS);
  const clock = options.clock ?? systemClock;
  return {
    db,
    registry: new SqliteRegistryStore(db, clock),
    policies: new SqlitePolicyVersionStore(db, clock),
    delegations: new SqliteDelegationStore(db, clock),
    goals: new SqliteGoalStore(db, clock),
  };
}

/**
 * Keeps what the handle compiled: better-sqlite3 compiles SQL on every `prepare`, and the stores
 * prepare per call (a point read measured 18 µs with `prepare` per call, 2 µs cached, on the
 * decision path several times per decision). Statements are reused only through `get`, `all` and
 * `run` (no `iterate`, no `pluck`/`raw` modes on store handles), so sharing one is safe; the few
 * dynamic list queries are bounded by their filters, and the cache by `max`.
 */
export function cacheStatements(db: Database, max = 512): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      if (cache.size >= max) cache.clear();
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }) as Database['prepare'];
}
