import type { Database } from 'better-sqlite3';

/** One schema change, applied once, in `version` order, inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

/**
 * Applies the migrations of `namespace` not yet recorded in `argus_migrations`. Namespaces let
 * stores (store, audit, secrets) version their own tables, in one database file or several.
 * Answers the versions applied by this call. Each migration runs in a `BEGIN IMMEDIATE`
 * transaction that checks again whether it was applied: processes opening the same new file at
 * once apply it exactly once (a check made only before the transaction let both try, and the
 * second failed on the `argus_migrations` key).
 */
export function runMigrations(db: Database, namespace: string, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS argus_migrations (
    namespace TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (namespace, version))`);
  const applied = new Set(
    (db.prepare('SELECT version FROM argus_migrations WHERE namespace = ?').all(namespace) as { version: number }[]).map((r) => r.version),
  );
  const done: number[] = [];
  const isApplied = db.prepare('SELECT 1 FROM argus_migrations WHERE namespace = ? AND version = ?');
  const record = db.prepare('INSERT INTO argus_migrations (namespace, version, name, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    const ran = db
      .transaction((): boolean => {
        if (isApplied.get(namespace, m.version) !== undefined) return false;
        db.exec(m.up);
        record.run(namespace, m.version, m.name, new Date().toISOString());
        return true;
      })
      .immediate();
    if (ran) done.push(m.version);
  }
  return done;
}

/** The migrations of the `store` namespace: registry, policy versions, delegations, goals. */
export const STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry',
    up: `
      CREATE TABLE humans (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE agents (id TEXT PRIMARY KEY, version INTEGER NOT NULL, trust TEXT NOT NULL, owner TEXT, kind TEXT NOT NULL,
        discovered_by TEXT, doc TEXT NOT NULL);
      CREATE INDEX agents_trust ON agents (trust, id);
      CREATE INDEX agents_owner ON agents (owner, id);
      CREATE INDEX agents_kind ON agents (kind, id);
      CREATE INDEX agents_discovered_by ON agents (discovered_by, id);
      CREATE TABLE mcp_servers (id TEXT PRIMARY KEY, version INTEGER NOT NULL, trust TEXT NOT NULL, transport TEXT NOT NULL,
        discovered_by TEXT, doc TEXT NOT NULL);
      CREATE INDEX mcp_servers_trust ON mcp_servers (trust, id);
      CREATE INDEX mcp_servers_discovered_by ON mcp_servers (discovered_by, id);
      CREATE TABLE trust_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, entity_id TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE INDEX trust_history_entity ON trust_history (kind, entity_id, seq);`,
  },
  {
    version: 2,
    name: 'policy-versions',
    up: `
      CREATE TABLE policy_versions (seq INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
      CREATE TABLE policy_activations (seq INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL, doc TEXT NOT NULL);`,
  },
  {
    version: 3,
    name: 'delegations',
    up: `
      CREATE TABLE delegations (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, from_type TEXT NOT NULL, from_id TEXT NOT NULL,
        to_type TEXT NOT NULL, to_id TEXT NOT NULL, parent_id TEXT, expires_at TEXT NOT NULL, revoked_at TEXT, doc TEXT NOT NULL);
      CREATE INDEX delegations_from ON delegations (from_type, from_id, seq);
      CREATE INDEX delegations_to ON delegations (to_type, to_id, seq);
      CREATE INDEX delegations_parent ON delegations (parent_id);`,
  },
  {
    version: 4,
    name: 'goals',
    up: `
      CREATE TABLE goals (id TEXT PRIMARY KEY, version INTEGER NOT NULL, owner TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE INDEX goals_owner ON goals (owner, id);
      CREATE INDEX goals_status ON goals (status, id);`,
  },
  {
    version: 5,
    name: 'window-counters',
    // One row per hit of a quota's sliding window; a row leaves the window at `expires_ms`.
    up: `
      CREATE TABLE window_hits (counter TEXT NOT NULL, expires_ms INTEGER NOT NULL);
      CREATE INDEX window_hits_counter ON window_hits (counter, expires_ms);
      CREATE INDEX window_hits_expiry ON window_hits (expires_ms);`,
  },
  {
    version: 6,
    name: 'switches',
    up: `
      CREATE TABLE switches (scope TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (scope, id));`,
  },
  {
    version: 7,
    name: 'approvals',
    // Files written before this migration already hold the table and its indexes (the approval
    // adapter created them itself): IF NOT EXISTS adopts them as they are, rows included.
    up: `
      CREATE TABLE IF NOT EXISTS argus_approvals (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL, binding_key TEXT NOT NULL, record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS argus_approvals_binding ON argus_approvals (binding_key, created_at DESC, id DESC);
      CREATE INDEX IF NOT EXISTS argus_approvals_status_created ON argus_approvals (status, created_at DESC, id DESC);
      CREATE INDEX IF NOT EXISTS argus_approvals_created ON argus_approvals (created_at DESC, id DESC);`,
  },
  {
    version: 8,
    name: 'window-runs',
    // A counter's hits as runs (hits leaving the window in the same millisecond share a row) and
    // its total, kept in step: a hit costs a few index seeks, not a count of every hit in the
    // window (which grew with the quota's limit). Rows of version 5 are carried over.
    up: `
      CREATE TABLE window_runs (counter TEXT NOT NULL, expires_ms INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (counter, expires_ms)) WITHOUT ROWID;
      CREATE INDEX window_runs_expiry ON window_runs (expires_ms);
      CREATE TABLE window_totals (counter TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO window_runs (counter, expires_ms, n) SELECT counter, expires_ms, COUNT(*) FROM window_hits GROUP BY counter, expires_ms;
      INSERT INTO window_totals (counter, n) SELECT counter, SUM(n) FROM window_runs GROUP BY counter;
      DROP TABLE window_hits;`,
  },
];
