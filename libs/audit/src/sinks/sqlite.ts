/**
 * SQLite sink and query store: the `audit_records` table (WAL) with indexes for the query filters,
 * and `audit_record_policies` for the policy filter. Writes are idempotent on `(writer, seq)`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '@argus/platform';
import { runMigrations, type Migration } from '@argus/store';
import { serializedRecord } from '../chain.ts';
import { decodeCursor, encodeCursor, normalizeTime, parsePrincipal } from '../query-filters.ts';
import type { AuditPage, AuditQueryFilters, AuditQueryStore, AuditRecord, AuditSink, ChainedRecord, ChainHead } from '../types.ts';

/** Options of the SQLite store. */
export interface SqliteAuditStoreOptions {
  /** Database file; created with its directory unless `readonly`. */
  path: string;
  /** How long a write waits on a locked database. Default 1000. */
  busyTimeoutMs?: number;
  /** `FULL` makes every commit survive power loss (strict mode); `NORMAL` survives a process crash. Default `NORMAL`. */
  synchronous?: 'NORMAL' | 'FULL';
  /** Open for reading only (the CLI); the file must exist. */
  readonly?: boolean;
}

/** The SQLite audit store: a sink and a query store, plus streaming reads for export/verify. */
export interface SqliteAuditStore extends AuditSink, AuditQueryStore {
  head(writer: string): Promise<ChainHead | undefined>;
  /** Streams chained records with `fromSeq <= seq <= toSeq` in storage order. */
  iterate(fromSeq: number, toSeq: number, writer?: string): IterableIterator<ChainedRecord>;
}

/**
 * The versioned schema of the audit tables (namespace `audit` of `argus_migrations`, applied by the
 * store's runner). Version 1 is the schema files had before migrations: every statement is
 * IF [NOT] EXISTS, so a file written before adopts it with its rows; older files lose their full
 * root/goal/intent indexes for the partial ones. A change to the schema is a new version.
 */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'audit-records',
    up: `
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
-- Columns that are often empty get partial indexes: a record without them costs no index write,
-- and an equality filter on the column still uses the index. Older files had full ones.
DROP INDEX IF EXISTS audit_records_root;
DROP INDEX IF EXISTS audit_records_goal;
DROP INDEX IF EXISTS audit_records_intent;
CREATE INDEX IF NOT EXISTS audit_records_root_set ON audit_records (root_id, time) WHERE root_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_records_goal_set ON audit_records (goal, time) WHERE goal IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_records_intent_set ON audit_records (intent, time) WHERE intent IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_records_outcome ON audit_records (outcome, time);
CREATE TABLE IF NOT EXISTS audit_record_policies (
  policy TEXT NOT NULL,
  writer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (policy, writer, seq)
) WITHOUT ROWID;
`,
  },
];

/** Opens the SQLite file at `options.path`, creating it and applying {@link AUDIT_MIGRATIONS} unless read-only. */
export function openSqliteAuditStore(options: SqliteAuditStoreOptions): SqliteAuditStore {
  if (!options.readonly) mkdirSync(dirname(options.path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(options.path, options.readonly ? { readonly: true, fileMustExist: true } : {});
  } catch (err) {
    throw new UnavailableError(`cannot open audit database \`${options.path}\``, err);
  }
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 1000))}`);
  if (!options.readonly) {
    // 4 KB pages for a new file (ignored for an existing one, whose page size is fixed once it is
    // in WAL mode). A commit writes every page it dirtied to the WAL in full, and each record
    // dirties a page in each index keyed by a value other than time (principal, root, ...): with
    // 16 KB pages a 16-record commit cost 121-123 µs of CPU per record, with 4 KB pages 92-100
    // (200,000 records already stored, FULL sync; 79 against 93 at 64-record commits).
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    runMigrations(db, 'audit', AUDIT_MIGRATIONS);
  }
  return new SqliteStore(db);
}

class SqliteStore implements SqliteAuditStore {
  readonly name = 'sqlite';
  private readonly insertAll: ((records: readonly ChainedRecord[]) => void) | undefined;

  constructor(private readonly db: Database.Database) {
    if (db.readonly) return;
    const insert = db.prepare(
      `INSERT OR IGNORE INTO audit_records (writer, seq, kind, decision_id, time, principal_type, principal_id, root_id, goal, intent, action, outcome, hash, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertPolicy = db.prepare('INSERT OR IGNORE INTO audit_record_policies (policy, writer, seq) VALUES (?, ?, ?)');
    this.insertAll = db.transaction((records: readonly ChainedRecord[]) => {
      for (const r of records) {
        const d = r.kind === 'decision' ? r : undefined;
        const info = insert.run(
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
        if (d && info.changes > 0) for (const p of new Set(d.policies)) insertPolicy.run(p, r.writer, r.seq);
      }
    });
  }

  async write(records: readonly ChainedRecord[]): Promise<void> {
    if (!this.insertAll) throw new UnavailableError('audit database is open read-only');
    this.insertAll(records);
  }

  async head(writer: string): Promise<ChainHead | undefined> {
    const row = this.db.prepare('SELECT seq, hash FROM audit_records WHERE writer = ? ORDER BY seq DESC LIMIT 1').get(writer) as
      { seq: number; hash: string } | undefined;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }

  async query(filters: AuditQueryFilters, cursor: string | undefined, limit: number): Promise<AuditPage> {
    const where: string[] = ["r.kind = 'decision'"];
    const args: unknown[] = [];
    if (filters.principal !== undefined) {
      const p = parsePrincipal(filters.principal);
      where.push('r.principal_id = ?');
      args.push(p.id);
      if (p.type !== undefined) {
        where.push('r.principal_type = ?');
        args.push(p.type);
      }
    }
    const eq: Array<[keyof AuditQueryFilters, string]> = [
      ['root', 'root_id'],
      ['goal', 'goal'],
      ['intent', 'intent'],
      ['action', 'action'],
      ['outcome', 'outcome'],
    ];
    for (const [key, column] of eq) {
      if (filters[key] === undefined) continue;
      where.push(`r.${column} = ?`);
      args.push(filters[key]);
    }
    if (filters.policy !== undefined) {
      where.push('EXISTS (SELECT 1 FROM audit_record_policies p WHERE p.policy = ? AND p.writer = r.writer AND p.seq = r.seq)');
      args.push(filters.policy);
    }
    if (filters.from !== undefined) {
      where.push('r.time >= ?');
      args.push(normalizeTime(filters.from, 'from'));
    }
    if (filters.to !== undefined) {
      where.push('r.time < ?');
      args.push(normalizeTime(filters.to, 'to'));
    }
    if (cursor !== undefined) {
      const c = decodeCursor(cursor);
      where.push('(r.time, r.writer, r.seq) < (?, ?, ?)');
      args.push(c.time, c.writer, c.seq);
    }
    const rows = this.db
      .prepare(`SELECT r.record FROM audit_records r WHERE ${where.join(' AND ')} ORDER BY r.time DESC, r.writer DESC, r.seq DESC LIMIT ?`)
      .all(...args, limit + 1) as Array<{ record: string }>;
    const records = rows.slice(0, limit).map((row) => JSON.parse(row.record) as AuditRecord);
    const last = records[records.length - 1];
    return rows.length > limit && last ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  async get(decisionId: string): Promise<AuditRecord | undefined> {
    const row = this.db
      .prepare("SELECT record FROM audit_records WHERE decision_id = ? AND kind = 'decision' ORDER BY rowid LIMIT 1")
      .get(decisionId) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as AuditRecord) : undefined;
  }

  async range(fromSeq: number, toSeq: number, writer?: string): Promise<ChainedRecord[]> {
    return [...this.iterate(fromSeq, toSeq, writer)];
  }

  *iterate(fromSeq: number, toSeq: number, writer?: string): IterableIterator<ChainedRecord> {
    const sql =
      writer === undefined
        ? 'SELECT record FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY rowid'
        : 'SELECT record FROM audit_records WHERE seq >= ? AND seq <= ? AND writer = ? ORDER BY rowid';
    const stmt = this.db.prepare(sql);
    const rows = (writer === undefined ? stmt.iterate(fromSeq, toSeq) : stmt.iterate(fromSeq, toSeq, writer)) as IterableIterator<{
      record: string;
    }>;
    for (const row of rows) yield JSON.parse(row.record) as ChainedRecord;
  }

  async writers(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT writer FROM audit_records ORDER BY writer').all() as Array<{ writer: string }>).map(
      (r) => r.writer,
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
