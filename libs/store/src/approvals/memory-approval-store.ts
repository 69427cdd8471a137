import { decodeCursor, encodeCursor, pageLimit } from '../paging.ts';
import type { Page } from '../ports.ts';
import {
  applyVerdict,
  asReported,
  consumeRefusal,
  decideRefusal,
  reportedStatus,
  sameBinding,
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

/** Options of {@link MemoryApprovalStore}. */
export interface MemoryApprovalStoreOptions {
  /** How long a request is kept after it expires (then forgotten). Default 7 days. */
  retentionMs?: number;
  /** Bound on the requests kept; the oldest are forgotten first. Default 100,000. */
  maxRequests?: number;
}

/**
 * Approvals in this process only (the embedded mode, tests). Single-threaded, so every
 * read-check-write below is atomic.
 */
export class MemoryApprovalStore implements ApprovalStore {
  private readonly requests = new Map<string, ApprovalRequest>();
  private readonly retentionMs: number;
  private readonly maxRequests: number;

  constructor(options: MemoryApprovalStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
    this.maxRequests = options.maxRequests ?? 100_000;
  }

  async create(request: NewApproval): Promise<ApprovalRequest> {
    this.prune(Date.parse(request.createdAt));
    const stored: ApprovalRequest = { ...structuredClone(request), status: 'pending' };
    this.requests.set(stored.id, stored);
    return structuredClone(stored);
  }

  async get(id: string, now: Date): Promise<ApprovalRequest | undefined> {
    const r = this.requests.get(id);
    return r ? asReported(structuredClone(r), now) : undefined;
  }

  async findPending(binding: ApprovalBinding, now: Date): Promise<ApprovalRequest | undefined> {
    let found: ApprovalRequest | undefined;
    for (const r of this.requests.values()) {
      if (sameBinding(r, binding) && (!found || newestFirst(r, found) < 0)) found = r;
    }
    return found && reportedStatus(found, now) === 'pending' ? structuredClone(found) : undefined;
  }

  async list(query: ApprovalQuery, now: Date): Promise<Page<ApprovalRequest>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const rows = [...this.requests.values()]
      .map((r) => asReported(r, now))
      .filter((r) => query.status === undefined || r.status === query.status)
      .sort(newestFirst)
      .filter((r) => !after || newestFirst(r, { createdAt: String(after[0]), id: String(after[1]) }) > 0)
      .slice(0, limit + 1)
      .map((r) => structuredClone(r));
    return pageOf(rows, limit);
  }

  async addRequester(id: string, requester: ApprovalRequester, now: Date): Promise<ApprovalRequest | undefined> {
    const r = this.requests.get(id);
    if (!r || reportedStatus(r, now) !== 'pending') return undefined;
    const next = withRequester(r, requester) ?? r;
    this.requests.set(id, next);
    return structuredClone(next);
  }

  async decide(id: string, verdict: ApprovalVerdict): Promise<DecideOutcome> {
    const r = this.requests.get(id);
    if (!r) return { ok: false, reason: 'unknown' };
    const refusal = decideRefusal(r, verdict.at);
    if (refusal) return { ok: false, reason: refusal, request: asReported(structuredClone(r), verdict.at) };
    const decided = applyVerdict(r, verdict);
    this.requests.set(id, decided);
    return { ok: true, request: structuredClone(decided) };
  }

  async consume(id: string, use: { binding: ApprovalBinding; decisionId: string; at: Date }): Promise<ConsumeOutcome> {
    const r = this.requests.get(id);
    if (!r) return { ok: false, reason: 'unknown' };
    const refusal = consumeRefusal(r, use.binding, use.at);
    if (refusal) return { ok: false, reason: refusal, request: asReported(structuredClone(r), use.at) };
    const consumed: ApprovalRequest = { ...r, status: 'consumed', consumedAt: use.at.toISOString(), consumedBy: use.decisionId };
    this.requests.set(id, consumed);
    return { ok: true, request: structuredClone(consumed) };
  }

  async close(): Promise<void> {
    this.requests.clear();
  }

  private prune(now: number): void {
    for (const [id, r] of this.requests) if (Date.parse(r.expiresAt) + this.retentionMs <= now) this.requests.delete(id);
    if (this.requests.size < this.maxRequests) return;
    const oldest = [...this.requests.values()].sort((a, b) => -newestFirst(a, b));
    for (const r of oldest.slice(0, this.requests.size - this.maxRequests + 1)) this.requests.delete(r.id);
  }
}

/** Newest first, ties broken by id: negative when `a` comes before `b`. */
export function newestFirst(a: Pick<ApprovalRequest, 'createdAt' | 'id'>, b: Pick<ApprovalRequest, 'createdAt' | 'id'>): number {
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt ? -1 : 1;
  return a.id === b.id ? 0 : a.id > b.id ? -1 : 1;
}

/** A page from `limit + 1` rows sorted newest first: the extra row only says another page exists. */
export function pageOf(rows: ApprovalRequest[], limit: number): Page<ApprovalRequest> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1]!;
  return { items, nextCursor: encodeCursor([last.createdAt, last.id]) };
}
