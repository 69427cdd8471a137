import type { Database } from 'better-sqlite3';
import { orUnavailableSync } from '../unavailable.ts';
import { decodeCursor, pageLimit } from '../paging.ts';
import type { Page } from '../ports.ts';
import {
  applyVerdict,
  asReported,
  bindingKey,
  consumeRefusal,
  decideRefusal,
  reportedStatus,
  withRequester,
  type ApprovalBinding,
  type ApprovalQuery,
  type ApprovalRequest,
  type ApprovalRequester,
  type ApprovalStore,
  type ApprovalVerdict,
  type ConsumeOutcome,
  type DecideOutcome,
  type NewApproval,
} from './ports.ts';
import { runMigrations, STORE_MIGRATIONS } from '../sqlite/migrations.ts';
import { pageOf } from './memory-approval-store.ts';

interface Row {
  record: string;
}

/** Options of {@link SqliteApprovalStore}. */
export interface SqliteApprovalStoreOptions {
  /** How long a request is kept after it expires. Default 7 days. */
  retentionMs?: number;
}

/**
 * Approvals in the SQLite file of the embedded mode (`argus_approvals`, store migration 7). Decide
 * and consume run in `BEGIN IMMEDIATE` transactions, so they are atomic across processes sharing
 * the file. The handle is owned by the caller (usually `Storage.sqlite`, already migrated; any
 * other handle is brought up to date on construction).
 */
export class SqliteApprovalStore implements ApprovalStore {
  private readonly retentionMs: number;

  constructor(
    private readonly db: Database,
    options: SqliteApprovalStoreOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
    runMigrations(db, 'store', STORE_MIGRATIONS);
  }

  async create(request: NewApproval): Promise<ApprovalRequest> {
    const stored: ApprovalRequest = { ...structuredClone(request), status: 'pending' };
    this.run(() => {
      this.db.prepare('DELETE FROM argus_approvals WHERE expires_at_ms + ? <= ?').run(this.retentionMs, Date.parse(request.createdAt));
      this.db
        .prepare('INSERT INTO argus_approvals (id, status, created_at, expires_at_ms, binding_key, record) VALUES (?, ?, ?, ?, ?, ?)')
        .run(stored.id, stored.status, stored.createdAt, Date.parse(stored.expiresAt), bindingKey(stored), JSON.stringify(stored));
    });
    return stored;
  }

  async get(id: string, now: Date): Promise<ApprovalRequest | undefined> {
    const r = this.read(id);
    return r ? asReported(r, now) : undefined;
  }

  async findPending(binding: ApprovalBinding, now: Date): Promise<ApprovalRequest | undefined> {
    const row = this.run(
      () =>
        this.db
          .prepare('SELECT record FROM argus_approvals WHERE binding_key = ? ORDER BY created_at DESC, id DESC LIMIT 1')
          .get(bindingKey(binding)) as Row | undefined,
    );
    const r = row ? (JSON.parse(row.record) as ApprovalRequest) : undefined;
    return r && reportedStatus(r, now) === 'pending' ? r : undefined;
  }

  async list(query: ApprovalQuery, now: Date): Promise<Page<ApprovalRequest>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const where: string[] = [];
    const args: (string | number)[] = [];
    const nowMs = now.getTime();
    switch (query.status) {
      case undefined:
        break;
      case 'pending':
      case 'approved':
        where.push('status = ? AND expires_at_ms > ?');
        args.push(query.status, nowMs);
        break;
      case 'expired':
        where.push("status IN ('pending', 'approved') AND expires_at_ms <= ?");
        args.push(nowMs);
        break;
      default:
        where.push('status = ?');
        args.push(query.status);
    }
    if (after) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(String(after[0]), String(after[0]), String(after[1]));
    }
    const sql = `SELECT record FROM argus_approvals ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.run(() => this.db.prepare(sql).all(...args, limit + 1) as Row[]);
    return pageOf(
      rows.map((row) => asReported(JSON.parse(row.record) as ApprovalRequest, now)),
      limit,
    );
  }

  async addRequester(id: string, requester: ApprovalRequester, now: Date): Promise<ApprovalRequest | undefined> {
    return this.run(() =>
      this.db
        .transaction((): ApprovalRequest | undefined => {
          const r = this.read(id);
          if (!r || reportedStatus(r, now) !== 'pending') return undefined;
          const next = withRequester(r, requester);
          if (next) this.write(next);
          return next ?? r;
        })
        .immediate(),
    );
  }

  async decide(id: string, verdict: ApprovalVerdict): Promise<DecideOutcome> {
    return this.run(() =>
      this.db
        .transaction((): DecideOutcome => {
          const r = this.read(id);
          if (!r) return { ok: false, reason: 'unknown' };
          const refusal = decideRefusal(r, verdict.at);
          if (refusal) return { ok: false, reason: refusal, request: asReported(r, verdict.at) };
          const decided = applyVerdict(r, verdict);
          this.write(decided);
          return { ok: true, request: decided };
        })
        .immediate(),
    );
  }

  async consume(id: string, use: { binding: ApprovalBinding; decisionId: string; at: Date }): Promise<ConsumeOutcome> {
    return this.run(() =>
      this.db
        .transaction((): ConsumeOutcome => {
          const r = this.read(id);
          if (!r) return { ok: false, reason: 'unknown' };
          const refusal = consumeRefusal(r, use.binding, use.at);
          if (refusal) return { ok: false, reason: refusal, request: asReported(r, use.at) };
          const consumed: ApprovalRequest = { ...r, status: 'consumed', consumedAt: use.at.toISOString(), consumedBy: use.decisionId };
          this.write(consumed);
          return { ok: true, request: consumed };
        })
        .immediate(),
    );
  }

  /** The handle belongs to the caller. */
  async close(): Promise<void> {}

  private read(id: string): ApprovalRequest | undefined {
    const row = this.run(() => this.db.prepare('SELECT record FROM argus_approvals WHERE id = ?').get(id) as Row | undefined);
    return row ? (JSON.parse(row.record) as ApprovalRequest) : undefined;
  }

  private write(r: ApprovalRequest): void {
    this.db.prepare('UPDATE argus_approvals SET status = ?, record = ? WHERE id = ?').run(r.status, JSON.stringify(r), r.id);
  }

  private run<T>(fn: () => T): T {
    return orUnavailableSync('approval store', fn);
  }
}
