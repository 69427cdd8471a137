/**
 * SQLite sink and query store: the `audit_records` table (WAL) with its time and decision-id
 * indexes, and the query filters indexed in segments (`audit_facets`, see {@link AUDIT_MIGRATIONS}).
 * Writes are idempotent on `(writer, seq)`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '@argus/platform';
import { runMigrations, type Migration } from '@argus/store';
import { serializedRecord, verifyChain, type ChainVerification, type ColumnDisagreement, type VerifyOptions } from '../chain.ts';
import { Checkpointer } from './sqlite-checkpointer.ts';
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
  /** Records per segment of the filter index (see {@link AUDIT_MIGRATIONS} version 2). Default 2,000. */
  segmentRecords?: number;
  /**
   * WAL checkpoints on a thread of their own ({@link Checkpointer}), started once this many
   * records were written (and again after it ended idle). Unset: the writer checkpoints inside its
   * commits, as SQLite does by default.
   */
  checkpointThreadAfter?: number;
  /** The checkpoint thread ends after this long without a write. Default 30 s. */
  checkpointThreadIdleMs?: number;
}

/** SQLite's own checkpoint threshold, in WAL pages: the writer's while no thread checkpoints. */
const WRITER_CHECKPOINT_PAGES = 1000;
/** The writer's threshold while the thread checkpoints: a bound on the WAL should the thread fall behind. */
const FALLBACK_CHECKPOINT_PAGES = 10_000;

/** The SQLite audit store: a sink and a query store, plus streaming reads for export/verify. */
export interface SqliteAuditStore extends AuditSink, AuditQueryStore {
  /** The connection's `synchronous` setting: `FULL` syncs every commit to the disk. */
  readonly synchronous: 'NORMAL' | 'FULL' | undefined;
  /** Who checkpoints the WAL now: the writer inside its commits, or the checkpoint thread. */
  readonly checkpointing: 'writer' | 'thread';
  head(writer: string): Promise<ChainHead | undefined>;
  /** Streams chained records with `fromSeq <= seq <= toSeq` in storage order. */
  iterate(fromSeq: number, toSeq: number, writer?: string): IterableIterator<ChainedRecord>;
  /**
   * Verifies the chain of the records with `fromSeq <= seq <= toSeq` (`verifyChain`), and that
   * every row's query columns ({@link ROW_COLUMNS}) hold what the writer stores for its record:
   * the hash covers the record text only, and queries filter on the columns.
   */
  verify(
    fromSeq: number,
    toSeq: number,
    options?: { writer?: string; publicKey?: Parameters<typeof verifyChain>[1] } & Omit<VerifyOptions, 'fromSeq' | 'columns'>,
  ): ChainVerification;
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
  {
    // The filter index in segments. A B-tree index keyed by principal, root or policy takes each new
    // record on a random page, and a commit writes every page it dirtied: with them a 16-record
    // commit cost 78 µs of CPU per record, 20 without, 43 with segments (bench/audit/sqlite-sink.ts).
    // Every `segmentRecords` records, their filter values are written sorted, as a new segment at
    // the end of `audit_facets` (a few pages), a few ms of it per write (`index`); a query
    // seeks each complete segment, newest first, and scans the records not yet in one (the tail)
    // directly. A file written before is indexed the same way, oldest first.
    version: 2,
    name: 'audit-facet-segments',
    up: `
DROP INDEX IF EXISTS audit_records_principal;
DROP INDEX IF EXISTS audit_records_root_set;
DROP INDEX IF EXISTS audit_records_goal_set;
DROP INDEX IF EXISTS audit_records_intent_set;
DROP INDEX IF EXISTS audit_records_outcome;
DROP TABLE IF EXISTS audit_record_policies;
CREATE TABLE IF NOT EXISTS audit_facet_segments (
  seg INTEGER PRIMARY KEY,
  first_rowid INTEGER NOT NULL,
  last_rowid INTEGER NOT NULL,
  -- Filters written so far (codes 1..done); the segment answers queries once all 7 are.
  done INTEGER NOT NULL DEFAULT 0,
  min_time TEXT NOT NULL,
  max_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_facets (
  seg INTEGER NOT NULL,
  facet INTEGER NOT NULL,
  value TEXT NOT NULL,
  time TEXT NOT NULL,
  writer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (seg, facet, value, time, writer, seq)
) WITHOUT ROWID;
`,
  },
  {
    // The determining policies of a decision record as their own JSON array. The policy filter of
    // a segment read them from each record's whole JSON text: 6.3 ms of a 2,000-record step
    // (median, 11.4 at most) against 0.5-1.6 for each of the other six filters, and the audit
    // thread answers no commit while a step runs. Records written before keep NULL and are read
    // from their text as before.
    version: 3,
    name: 'audit-policies-column',
    up: `ALTER TABLE audit_records ADD COLUMN policies TEXT;`,
  },
];

/**
 * The columns of `audit_records` filled from each record beside its text (`record`): queries filter
 * and order on them, the CLI ranges on `writer` and `seq`. In the order of {@link rowColumns}.
 */
export const ROW_COLUMNS = [
  'writer',
  'seq',
  'kind',
  'decision_id',
  'time',
  'principal_type',
  'principal_id',
  'root_id',
  'goal',
  'intent',
  'action',
  'outcome',
  'hash',
  'policies',
] as const;

/**
 * What the writer stores in {@link ROW_COLUMNS} for `r`, in that order. The one derivation of the
 * columns: the writer fills them with it, `verify` checks them with it.
 */
export function rowColumns(r: ChainedRecord): unknown[] {
  const d = r.kind === 'decision' ? r : undefined;
  return [
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
    d && Array.isArray(d.policies) ? JSON.stringify(d.policies) : null,
  ];
}

/** Index of `policies` in {@link ROW_COLUMNS}: NULL in rows written before migration 3, whose readers use the record text. */
const POLICIES_COLUMN = ROW_COLUMNS.indexOf('policies');

/** The first of {@link ROW_COLUMNS} whose value in `row` is not what the writer stores for `record`. */
function columnDisagreement(row: readonly unknown[], record: ChainedRecord): ColumnDisagreement | undefined {
  const expected = rowColumns(record);
  for (let i = 0; i < ROW_COLUMNS.length; i++) {
    if (row[i] === expected[i] || (i === POLICIES_COLUMN && row[i] === null)) continue;
    return { column: ROW_COLUMNS[i]!, stored: row[i], expected: expected[i] };
  }
  return undefined;
}

/** The filters `audit_facets` holds, by their code there; the first one a query names drives it. */
const FACETS = [
  ['principal', 1, 'principal_id'],
  ['root', 2, 'root_id'],
  ['policy', 7, undefined],
  ['intent', 4, 'intent'],
  ['goal', 3, 'goal'],
  ['action', 5, 'action'],
  ['outcome', 6, 'outcome'],
] as const satisfies ReadonlyArray<readonly [keyof AuditQueryFilters, number, string | undefined]>;

/** The filter with code `code` of the records in `(:from, :to]`, sorted, into segment `:seg`. */
function facetSql(code: number): string {
  const column = FACETS.find(([, c]) => c === code)![2];
  const rows = column
    ? `SELECT ${column} AS v, time, writer, seq FROM audit_records WHERE rowid > :from AND rowid <= :to AND kind = 'decision' AND ${column} IS NOT NULL`
    : `SELECT DISTINCT p.value AS v, r.time, r.writer, r.seq FROM audit_records r, json_each(coalesce(r.policies, json_extract(r.record, '$.policies'))) p
       WHERE r.rowid > :from AND r.rowid <= :to AND r.kind = 'decision' AND p.type = 'text'`;
  return `INSERT OR IGNORE INTO audit_facets (seg, facet, value, time, writer, seq) SELECT :seg, ${code}, v, time, writer, seq FROM (${rows}) ORDER BY 1, 2, 3, 4`;
}

/** Filters per segment (codes 1..7). */
const FACET_COUNT = FACETS.length;
/** The pause between steps of the filter index that no write started (a file catching up). */
const INDEX_PAUSE_MS = 20;
/** Records deleted per step of the retention, and the pause between steps (commits go between). */
const PRUNE_ROWS = 500;
const PRUNE_PAUSE_MS = 20;

/** A query's candidate: the record text and its position in the order of pages. */
interface Row {
  record: string;
  time: string;
  writer: string;
  seq: number;
}

/** Newest first: time, then writer, then seq, descending (as the stored text compares). */
function newestFirst(a: Row, b: Row): number {
  if (a.time !== b.time) return a.time < b.time ? 1 : -1;
  if (a.writer !== b.writer) return a.writer < b.writer ? 1 : -1;
  return b.seq - a.seq;
}

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
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    runMigrations(db, 'audit', AUDIT_MIGRATIONS);
  }
  return new SqliteStore(db, Math.max(1, Math.floor(options.segmentRecords ?? 2000)), options);
}

class SqliteStore implements SqliteAuditStore {
  readonly name = 'sqlite';
  readonly synchronous: 'NORMAL' | 'FULL' | undefined;
  checkpointing: 'writer' | 'thread' = 'writer';
  private checkpointer: Checkpointer | undefined;
  /** Records written since the checkpoint thread last ended (or since open). */
  private sinceThread = 0;
  private readonly insertAll: ((records: readonly ChainedRecord[]) => void) | undefined;
  /** Writes the next segment of the filter index, if a whole one is waiting; false when none is. */
  private readonly indexSegment: Database.Transaction<() => boolean> | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private indexSoon: NodeJS.Immediate | undefined;
  /** Per writer, the `prunedBefore` of the newest checkpoint this store holds: its records below are deleted, a step at a time. */
  private readonly pruneTo = new Map<string, number>();
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruneStep: ((writer: string, before: number) => number) | undefined;
  private dropSegments: (() => void) | undefined;
  private retainScan: ((writer: string, cutoff: string) => number | undefined) | undefined;

  constructor(
    private readonly db: Database.Database,
    segmentRecords: number,
    private readonly options: Pick<SqliteAuditStoreOptions, 'path' | 'checkpointThreadAfter' | 'checkpointThreadIdleMs'>,
  ) {
    const level = db.pragma('synchronous', { simple: true });
    this.synchronous = level === 2 ? 'FULL' : level === 1 ? 'NORMAL' : undefined;
    if (db.readonly) return;
    const insert = db.prepare(
      `INSERT OR IGNORE INTO audit_records (${ROW_COLUMNS.join(', ')}, record) VALUES (${ROW_COLUMNS.map(() => '?, ').join('')}?)`,
    );
    this.insertAll = db.transaction((records: readonly ChainedRecord[]) => {
      for (const r of records) insert.run(...rowColumns(r), serializedRecord(r));
    });
    const deleteRows = db.prepare(
      `DELETE FROM audit_records WHERE rowid IN (SELECT rowid FROM audit_records WHERE writer = ? AND seq < ? ORDER BY seq LIMIT ${PRUNE_ROWS})`,
    );
    this.pruneStep = (writer, before) => deleteRows.run(writer, before).changes;
    // Segments of the filter index all of whose records are gone; the newest is kept (the index goes on from it).
    const goneSegments = `SELECT seg FROM audit_facet_segments WHERE last_rowid < (SELECT coalesce(min(rowid), 0) FROM audit_records)
      AND seg < (SELECT max(seg) FROM audit_facet_segments)`;
    const dropFacets = db.prepare(`DELETE FROM audit_facets WHERE seg IN (${goneSegments})`);
    const dropSegmentRows = db.prepare(`DELETE FROM audit_facet_segments WHERE seg IN (${goneSegments})`);
    this.dropSegments = db.transaction(() => {
      dropFacets.run();
      dropSegmentRows.run();
    });
    // The writer's last record at or before the cutoff (the time index, read backwards), then its
    // newest checkpoint signed by then (the (writer, seq) index, read backwards: a checkpoint comes
    // every `everyRecords` records at most, so a short read).
    const lastBefore = db
      .prepare(
        'SELECT seq FROM audit_records INDEXED BY audit_records_time WHERE time <= ? AND writer = ? ORDER BY time DESC, writer DESC, seq DESC LIMIT 1',
      )
      .pluck();
    const checkpointBefore = db
      .prepare(
        `SELECT seq FROM audit_records WHERE writer = ? AND seq <= ? AND kind = 'checkpoint' AND time <= ? ORDER BY seq DESC LIMIT 1`,
      )
      .pluck();
    this.retainScan = (writer, cutoff) => {
      const last = lastBefore.get(cutoff, writer) as number | undefined;
      return last === undefined ? undefined : (checkpointBefore.get(writer, last, cutoff) as number | undefined);
    };
    const latest = db.prepare(
      'SELECT seg, first_rowid AS "from", last_rowid AS "to", done FROM audit_facet_segments ORDER BY seg DESC LIMIT 1',
    );
    const lastRowid = db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM audit_records').pluck();
    const range = db.prepare('SELECT min(time) AS min, max(time) AS max FROM audit_records WHERE rowid > ? AND rowid <= ?');
    const addSegment = db.prepare('INSERT INTO audit_facet_segments (first_rowid, last_rowid, min_time, max_time) VALUES (?, ?, ?, ?)');
    const advance = db.prepare('UPDATE audit_facet_segments SET done = ? WHERE seg = ?');
    const fill = new Map<number, Database.Statement>(FACETS.map(([, code]) => [code, db.prepare(facetSql(code))]));
    this.indexSegment = db.transaction((): boolean => {
      let seg = latest.get() as { seg: number; from: number; to: number; done: number } | undefined;
      if (!seg || seg.done === FACET_COUNT) {
        const from = seg?.to ?? 0;
        if ((lastRowid.get() as number) - from < segmentRecords) return false;
        const to = from + segmentRecords;
        const { min, max } = range.get(from, to) as { min: string | null; max: string | null };
        seg = { seg: Number(addSegment.run(from, to, min ?? '', max ?? '').lastInsertRowid), from, to, done: 0 };
      }
      const code = seg.done + 1;
      fill.get(code)!.run({ seg: seg.seg, from: seg.from, to: seg.to });
      advance.run(code, seg.seg);
      return true;
    });
  }

  async write(records: readonly ChainedRecord[]): Promise<void> {
    if (!this.insertAll) throw new UnavailableError('audit database is open read-only');
    this.insertAll(records);
    this.sinceThread += records.length;
    for (const r of records) {
      const before = r.kind === 'checkpoint' ? r.checkpoint.prunedBefore : undefined;
      if (before !== undefined && before > (this.pruneTo.get(r.writer) ?? 0)) {
        this.pruneTo.set(r.writer, before);
        this.schedulePrune(0);
      }
    }
    const after = this.options.checkpointThreadAfter;
    if (after !== undefined && !this.checkpointer && this.sinceThread >= after) this.startCheckpointer();
    // INVARIANT: the step runs after this write's callers were answered (their answers are
    // promise callbacks, which all run before an immediate), and one step per turn.
    this.indexSoon ??= setImmediate(() => {
      this.indexSoon = undefined;
      if (this.db.open) this.index();
    });
  }

  /**
   * Hands the WAL's checkpoints to their own thread: the writer's threshold is raised to a bound
   * once the thread runs, and set back when it ends (idle, or failed: then logged by no one here,
   * the writer simply checkpoints as before).
   */
  private startCheckpointer(): void {
    try {
      this.checkpointer = this.newCheckpointer();
    } catch {
      // No thread to be had (the process at its limit): the writer goes on checkpointing, and the
      // count starts again before the next try.
      this.sinceThread = 0;
    }
  }

  private newCheckpointer(): Checkpointer {
    return new Checkpointer({
      path: this.options.path,
      synchronous: this.synchronous ?? 'NORMAL',
      ...(this.options.checkpointThreadIdleMs !== undefined ? { idleExitMs: this.options.checkpointThreadIdleMs } : {}),
      onReady: () => {
        if (!this.db.open || !this.checkpointer) return;
        this.db.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
        this.checkpointing = 'thread';
      },
      onEnd: () => {
        this.checkpointer = undefined;
        this.sinceThread = 0;
        this.checkpointing = 'writer';
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
      },
    });
  }

  /**
   * Writes one filter of a segment (2,000 records: 0.3–2 ms, at most ~7), then, while some remain
   * and no write comes, another a moment later: a file far behind (written before segments)
   * catches up without traffic too. One step at a time, after the write's callers were answered: a
   * batch that arrives meanwhile waits for one filter at most, not for a whole segment (the steps
   * used to run inside the write, up to a 3 ms budget: 6–16 ms before a commit was acknowledged,
   * ~9 times a second at ~8,000 decisions/s). The records are already committed: a failure here
   * only delays the index, the next write or timer retries.
   */
  private index(): void {
    let more = false;
    try {
      more = this.indexSegment!.immediate();
    } catch {
      more = false;
    }
    if (more && !this.indexTimer && this.db.open) {
      this.indexTimer = setTimeout(() => {
        this.indexTimer = undefined;
        if (this.db.open) this.index();
      }, INDEX_PAUSE_MS);
      this.indexTimer.unref();
    }
  }

  retainFrom(writer: string, cutoff: string): number | undefined {
    return this.retainScan?.(writer, cutoff);
  }

  /** Runs a step of the retention after `ms`, unless one is already waiting. */
  private schedulePrune(ms: number): void {
    if (this.pruneTimer || !this.db.open) return;
    this.pruneTimer = setTimeout(() => {
      this.pruneTimer = undefined;
      if (this.db.open) this.prune();
    }, ms);
    this.pruneTimer.unref();
  }

  /**
   * Deletes up to {@link PRUNE_ROWS} records below a writer's `prunedBefore`, then, while some
   * remain, another step a moment later (a commit waits for one step at most); once none remain,
   * the segments of the filter index whose records are all gone. The file does not shrink: SQLite
   * reuses the freed pages, so it stops growing. A failure is retried at the next checkpoint.
   */
  private prune(): void {
    try {
      for (const [writer, before] of this.pruneTo) {
        if (this.pruneStep!(writer, before) >= PRUNE_ROWS) {
          this.schedulePrune(PRUNE_PAUSE_MS);
          return;
        }
      }
      this.dropSegments!();
    } catch {
      // Locked or failing: the next checkpoint schedules it again.
    }
  }

  async head(writer: string): Promise<ChainHead | undefined> {
    const row = this.db.prepare('SELECT seq, hash FROM audit_records WHERE writer = ? ORDER BY seq DESC LIMIT 1').get(writer) as
      { seq: number; hash: string } | undefined;
    return row ? { seq: row.seq, hash: row.hash } : undefined;
  }

  async query(filters: AuditQueryFilters, cursor: string | undefined, limit: number): Promise<AuditPage> {
    // Conditions on a record (`r`), every filter included: the tail is scanned with them, and the
    // records a segment answers are checked against them.
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
    for (const [key, , column] of FACETS) {
      if (filters[key] === undefined || key === 'principal') continue;
      where.push(column ? `r.${column} = ?` : "EXISTS (SELECT 1 FROM json_each(r.record, '$.policies') WHERE value = ?)");
      args.push(filters[key]);
    }
    // Bounds shared by the tail scan (on `r`) and the segments (on `f`).
    const bounds: string[] = [];
    const boundArgs: unknown[] = [];
    const from = filters.from !== undefined ? normalizeTime(filters.from, 'from') : undefined;
    const to = filters.to !== undefined ? normalizeTime(filters.to, 'to') : undefined;
    const after = cursor !== undefined ? decodeCursor(cursor) : undefined;
    if (from !== undefined) {
      bounds.push('$.time >= ?');
      boundArgs.push(from);
    }
    if (to !== undefined) {
      bounds.push('$.time < ?');
      boundArgs.push(to);
    }
    if (after !== undefined) {
      bounds.push('($.time, $.writer, $.seq) < (?, ?, ?)');
      boundArgs.push(after.time, after.writer, after.seq);
    }
    const on = (alias: string) => bounds.map((b) => b.replaceAll('$', alias));
    const order = (alias: string) => `ORDER BY ${alias}.time DESC, ${alias}.writer DESC, ${alias}.seq DESC LIMIT ?`;
    const driving = FACETS.find(([key]) => filters[key] !== undefined);
    const n = limit + 1;

    const rows = this.db.transaction((): Row[] => {
      if (!driving) {
        // No filter the segments hold: the time index answers in order.
        return this.db
          .prepare(
            `SELECT r.record, r.time, r.writer, r.seq FROM audit_records r WHERE ${[...where, ...on('r')].join(' AND ')} ${order('r')}`,
          )
          .all(...args, ...boundArgs, n) as Row[];
      }
      const [key, code] = driving;
      const value = key === 'principal' ? parsePrincipal(filters.principal!).id : filters[key];
      const segmented = this.segmented();
      const indexed = segmented
        ? (this.db
            .prepare(`SELECT coalesce(max(last_rowid), 0) FROM audit_facet_segments WHERE done = ${FACET_COUNT}`)
            .pluck()
            .get() as number)
        : 0;
      // The tail: records not in a segment yet (at most a segment's worth), scanned by rowid.
      const found = this.db
        .prepare(
          `SELECT r.record, r.time, r.writer, r.seq FROM audit_records r NOT INDEXED WHERE r.rowid > ? AND ${[...where, ...on('r')].join(' AND ')} ${order('r')}`,
        )
        .all(indexed, ...args, ...boundArgs, n) as Row[];
      if (!segmented) return found;
      // The segments, latest records first; one stops the search once the page is full of newer records.
      const segments = this.db
        .prepare(
          `SELECT seg, max_time AS maxTime FROM audit_facet_segments WHERE done = ${FACET_COUNT} ${from !== undefined ? 'AND max_time >= ?' : ''} ${
            to !== undefined ? 'AND min_time < ?' : ''
          } ${after !== undefined ? 'AND min_time <= ?' : ''} ORDER BY max_time DESC, seg DESC`,
        )
        .all(...[from, to, after?.time].filter((v) => v !== undefined)) as Array<{ seg: number; maxTime: string }>;
      // Segments are read in runs, newest first: one segment, then twice as many each time a run
      // did not fill the page (a rare value costs a few statements over thousands of segments; a
      // common one stops after the first). Each statement seeks every segment of its run.
      const statements = new Map<number, Database.Statement>();
      const inSegments = (count: number) => {
        let stmt = statements.get(count);
        if (!stmt) {
          stmt = this.db.prepare(
            `SELECT r.record, r.time, r.writer, r.seq FROM audit_facets f JOIN audit_records r ON r.writer = f.writer AND r.seq = f.seq
             WHERE f.seg IN (${Array(count).fill('?').join(', ')}) AND f.facet = ? AND f.value = ? AND ${[...on('f'), ...where].join(' AND ')} ${order('f')}`,
          );
          statements.set(count, stmt);
        }
        return stmt;
      };
      let rows = found.sort(newestFirst);
      for (let i = 0, run = 1; i < segments.length; i += run, run = Math.min(run * 2, 256)) {
        // Every later segment holds only records older than the page's last: done.
        if (rows.length >= n && segments[i]!.maxTime < rows[n - 1]!.time) break;
        const part = segments.slice(i, i + run).map((x) => x.seg);
        const more = inSegments(part.length).all(...part, code, value, ...boundArgs, ...args, n) as Row[];
        if (more.length > 0) rows = [...rows, ...more].sort(newestFirst).slice(0, n);
      }
      return rows;
    })();
    const records = rows.slice(0, limit).map((row) => JSON.parse(row.record) as AuditRecord);
    const last = records[records.length - 1];
    return rows.length > limit && last ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  /** Whether the file has the filter index in segments (a read-only open of an older file does not). */
  private segmented(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_facet_segments'").get() !== undefined;
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

  verify(
    fromSeq: number,
    toSeq: number,
    options: { writer?: string; publicKey?: Parameters<typeof verifyChain>[1] } & Omit<VerifyOptions, 'fromSeq' | 'columns'> = {},
  ): ChainVerification {
    const { writer, publicKey, ...rest } = options;
    const byWriter = writer === undefined ? '' : 'AND writer = ?';
    const stmt = this.db
      .prepare(`SELECT ${ROW_COLUMNS.join(', ')}, record FROM audit_records WHERE seq >= ? AND seq <= ? ${byWriter} ORDER BY rowid`)
      .raw(true);
    // Rare: only the records whose row disagrees are kept, until verifyChain asks.
    const disagreements = new Map<ChainedRecord, ColumnDisagreement>();
    function* records(): IterableIterator<ChainedRecord> {
      const rows = (writer === undefined ? stmt.iterate(fromSeq, toSeq) : stmt.iterate(fromSeq, toSeq, writer)) as IterableIterator<
        unknown[]
      >;
      for (const row of rows) {
        const record = JSON.parse(row[ROW_COLUMNS.length] as string) as ChainedRecord;
        const disagreement = columnDisagreement(row, record);
        if (disagreement) disagreements.set(record, disagreement);
        yield record;
      }
    }
    const columns = (record: ChainedRecord): ColumnDisagreement | undefined => {
      const disagreement = disagreements.get(record);
      disagreements.delete(record);
      return disagreement;
    };
    return verifyChain(records(), publicKey, { ...rest, fromSeq, columns });
  }

  async writers(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT writer FROM audit_records ORDER BY writer').all() as Array<{ writer: string }>).map(
      (r) => r.writer,
    );
  }

  async close(): Promise<void> {
    clearTimeout(this.indexTimer);
    clearTimeout(this.pruneTimer);
    clearImmediate(this.indexSoon);
    // The thread's connection first: the writer's, closed last, checkpoints what remains.
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}
