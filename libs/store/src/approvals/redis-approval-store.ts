import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { decodeCursor, pageLimit } from '../paging.ts';
import type { Page } from '../ports.ts';
import {
  asReported,
  bindingKey,
  MAX_REQUESTERS,
  type ApprovalBinding,
  type ApprovalQuery,
  type ApprovalRefusal,
  type ApprovalRequest,
  type ApprovalRequester,
  type ApprovalStore,
  type ApprovalVerdict,
  type ConsumeOutcome,
  type DecideOutcome,
  type NewApproval,
} from './ports.ts';
import { newestFirst, pageOf } from './memory-approval-store.ts';
import { orUnavailable } from '../unavailable.ts';
import { withScripts } from '../redis/scripts.ts';

/**
 * `approved → consumed`, atomically. KEYS[1]: the request hash. ARGV: binding, atMs, atIso,
 * decisionId. Mirrors `consumeRefusal`: binding, spent, rejected, expiry, pending.
 */
const CONSUME = `
local f = redis.call('HMGET', KEYS[1], 'status', 'binding', 'expiresAtMs')
if not f[1] then return 'unknown' end
if f[2] ~= ARGV[1] then return 'mismatch' end
if f[1] == 'consumed' then return 'consumed' end
if f[1] == 'rejected' then return 'rejected' end
if tonumber(f[3]) <= tonumber(ARGV[2]) then return 'expired' end
if f[1] == 'pending' then return 'pending' end
if f[1] ~= 'approved' then return 'unknown' end
redis.call('HSET', KEYS[1], 'status', 'consumed', 'consumedAt', ARGV[3], 'consumedBy', ARGV[4])
return 'ok'
`;

/**
 * `pending → approved | rejected`, once. KEYS[1]: the request hash, KEYS[2]: the pending index.
 * ARGV: status, atMs, by, atIso, hasReason (1/0), reason, id. Mirrors `decideRefusal`.
 */
const DECIDE = `
local f = redis.call('HMGET', KEYS[1], 'status', 'expiresAtMs')
if not f[1] then return 'unknown' end
if f[1] ~= 'pending' then return 'already_decided' end
if tonumber(f[2]) <= tonumber(ARGV[2]) then return 'expired' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedBy', ARGV[3], 'decidedAt', ARGV[4])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'reason', ARGV[6]) end
redis.call('ZREM', KEYS[2], ARGV[7])
return 'ok'
`;

/**
 * Records another caller that asked for a pending request, once. KEYS[1]: the request hash. ARGV:
 * atMs, kind, subject, max (MAX_REQUESTERS). Mirrors `withRequester`: the callers after the first
 * are kept in the `requesters` field (a JSON array), `requestersOverflow` is set past the bound.
 */
const ADD_REQUESTER = `
local f = redis.call('HMGET', KEYS[1], 'status', 'expiresAtMs', 'record', 'requesters', 'requestersOverflow')
if not f[1] then return 'unknown' end
if f[1] ~= 'pending' or tonumber(f[2]) <= tonumber(ARGV[1]) then return 'closed' end
local first = cjson.decode(f[3]).requestedBy
if type(first) == 'table' and first.kind == ARGV[2] and first.subject == ARGV[3] then return 'known' end
local list = {}
if f[4] then list = cjson.decode(f[4]) end
for _, r in ipairs(list) do
  if r.kind == ARGV[2] and r.subject == ARGV[3] then return 'known' end
end
if f[5] then return 'overflow' end
if #list >= tonumber(ARGV[4]) - 1 then
  redis.call('HSET', KEYS[1], 'requestersOverflow', '1')
  return 'overflow'
end
table.insert(list, { kind = ARGV[2], subject = ARGV[3] })
redis.call('HSET', KEYS[1], 'requesters', cjson.encode(list))
return 'added'
`;

type RedisWithApprovals = Redis & {
  argusApprovalAddRequester(key: string, ...args: string[]): Promise<string>;
  argusApprovalConsume(key: string, ...args: string[]): Promise<string>;
  argusApprovalDecide(key: string, pending: string, ...args: string[]): Promise<string>;
};

/** Options of {@link RedisApprovalStore}. */
export interface RedisApprovalStoreOptions {
  /** Key prefix: `<prefix>approval:<id>`, `<prefix>approvals:all|pending`. Default `argus:`. */
  prefix?: string;
  /** How long a request is kept after it expires. Default 7 days. */
  retentionMs?: number;
}

/**
 * Approvals in Redis, shared by every replica. One hash per request (expiring `retentionMs`
 * after the request does), a pointer from each binding to its newest request, a sorted index of
 * every request and one of the pending ones (by creation time). Decide, consume and recording another
 * requester are Lua scripts, so each is atomic across processes.
 * Index entries whose hash has expired are dropped lazily when a listing meets them.
 * Redis errors become `UnavailableError`.
 */
export class RedisApprovalStore implements ApprovalStore {
  private readonly client: RedisWithApprovals;
  private readonly prefix: string;
  private readonly retentionMs: number;

  constructor(client: Redis, options: RedisApprovalStoreOptions = {}) {
    this.prefix = options.prefix ?? 'argus:';
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
    this.client = withScripts<RedisWithApprovals>(client, {
      argusApprovalConsume: { numberOfKeys: 1, lua: CONSUME },
      argusApprovalDecide: { numberOfKeys: 2, lua: DECIDE },
      argusApprovalAddRequester: { numberOfKeys: 1, lua: ADD_REQUESTER },
    });
  }

  private key(id: string): string {
    return `${this.prefix}approval:${id}`;
  }

  private openKey(binding: ApprovalBinding): string {
    return `${this.prefix}approvals:open:${createHash('sha256').update(bindingKey(binding), 'utf8').digest('hex')}`;
  }

  private get allIndex(): string {
    return `${this.prefix}approvals:all`;
  }

  private get pendingIndex(): string {
    return `${this.prefix}approvals:pending`;
  }

  async create(request: NewApproval): Promise<ApprovalRequest> {
    const stored: ApprovalRequest = { ...structuredClone(request), status: 'pending' };
    const createdMs = Date.parse(request.createdAt);
    const expiresMs = Date.parse(request.expiresAt);
    await this.call(() =>
      this.client
        .multi()
        .hset(this.key(request.id), {
          status: 'pending',
          binding: bindingKey(request),
          expiresAtMs: String(expiresMs),
          record: JSON.stringify(request),
        })
        .pexpireat(this.key(request.id), expiresMs + this.retentionMs)
        .zadd(this.allIndex, createdMs, request.id)
        .zadd(this.pendingIndex, createdMs, request.id)
        .set(this.openKey(request), request.id, 'PXAT', expiresMs)
        .exec()
        .then(checkExec),
    );
    return stored;
  }

  async get(id: string, now: Date): Promise<ApprovalRequest | undefined> {
    const fields = await this.call(() => this.client.hgetall(this.key(id)));
    const r = fromHash(fields);
    return r ? asReported(r, now) : undefined;
  }

  async findPending(binding: ApprovalBinding, now: Date): Promise<ApprovalRequest | undefined> {
    const id = await this.call(() => this.client.get(this.openKey(binding)));
    if (id === null) return undefined;
    const r = await this.get(id, now);
    return r && r.status === 'pending' ? r : undefined;
  }

  async list(query: ApprovalQuery, now: Date): Promise<Page<ApprovalRequest>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const afterKey = after ? { createdAt: String(after[0]), id: String(after[1]) } : undefined;
    const index = query.status === 'pending' ? this.pendingIndex : this.allIndex;
    const max = afterKey ? String(Date.parse(afterKey.createdAt)) : '+inf';
    const rows: ApprovalRequest[] = [];
    const batch = Math.max(limit + 1, 100);
    for (let offset = 0; rows.length <= limit; offset += batch) {
      const ids = await this.call(() => this.client.zrevrangebyscore(index, max, '-inf', 'LIMIT', offset, batch));
      if (ids.length === 0) break;
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hgetall(this.key(id));
      const answers = await this.call(() => pipeline.exec().then(checkExec));
      const stale: string[] = [];
      ids.forEach((id, i) => {
        const r = fromHash(answers[i] as Record<string, string>);
        if (!r) {
          stale.push(id);
          return;
        }
        const shown = asReported(r, now);
        if (afterKey && newestFirst(shown, afterKey) <= 0) return;
        if (query.status !== undefined && shown.status !== query.status) return;
        if (rows.length <= limit) rows.push(shown);
      });
      if (stale.length > 0)
        await this.call(() =>
          this.client
            .multi()
            .zrem(this.allIndex, ...stale)
            .zrem(this.pendingIndex, ...stale)
            .exec()
            .then(checkExec),
        );
      if (ids.length < batch) break;
    }
    return pageOf(rows, limit);
  }

  async addRequester(id: string, requester: ApprovalRequester, now: Date): Promise<ApprovalRequest | undefined> {
    const answer = await this.call(() =>
      this.client.argusApprovalAddRequester(this.key(id), String(now.getTime()), requester.kind, requester.subject, String(MAX_REQUESTERS)),
    );
    if (answer === 'unknown' || answer === 'closed') return undefined;
    const request = await this.get(id, now);
    return request && request.status === 'pending' ? request : undefined;
  }

  async decide(id: string, verdict: ApprovalVerdict): Promise<DecideOutcome> {
    const status = verdict.decision === 'approve' ? 'approved' : 'rejected';
    const answer = await this.call(() =>
      this.client.argusApprovalDecide(
        this.key(id),
        this.pendingIndex,
        status,
        String(verdict.at.getTime()),
        verdict.by,
        verdict.at.toISOString(),
        verdict.reason !== undefined ? '1' : '0',
        verdict.reason ?? '',
        id,
      ),
    );
    const request = await this.get(id, verdict.at);
    if (answer === 'ok' && request) return { ok: true, request };
    if (answer === 'unknown' || !request) return { ok: false, reason: 'unknown' };
    return { ok: false, reason: answer as 'expired' | 'already_decided', request };
  }

  async consume(id: string, use: { binding: ApprovalBinding; decisionId: string; at: Date }): Promise<ConsumeOutcome> {
    const answer = await this.call(() =>
      this.client.argusApprovalConsume(
        this.key(id),
        bindingKey(use.binding),
        String(use.at.getTime()),
        use.at.toISOString(),
        use.decisionId,
      ),
    );
    const request = await this.get(id, use.at);
    if (answer === 'ok' && request) return { ok: true, request };
    if (answer === 'unknown' || !request) return { ok: false, reason: 'unknown' };
    return { ok: false, reason: answer as ApprovalRefusal, request };
  }

  /** The client is owned by the caller, who closes it. */
  async close(): Promise<void> {}

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return orUnavailable('approval store', fn);
  }
}

function fromHash(fields: Record<string, string> | null | undefined): ApprovalRequest | undefined {
  if (!fields || fields.record === undefined || fields.status === undefined) return undefined;
  const base = JSON.parse(fields.record) as NewApproval;
  return {
    ...base,
    status: fields.status as ApprovalRequest['status'],
    ...(fields.decidedBy !== undefined ? { decidedBy: fields.decidedBy } : {}),
    ...(fields.decidedAt !== undefined ? { decidedAt: fields.decidedAt } : {}),
    ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
    ...(fields.consumedAt !== undefined ? { consumedAt: fields.consumedAt } : {}),
    ...(fields.consumedBy !== undefined ? { consumedBy: fields.consumedBy } : {}),
    ...(fields.requesters !== undefined ? { alsoRequestedBy: JSON.parse(fields.requesters) as ApprovalRequester[] } : {}),
    ...(fields.requestersOverflow !== undefined ? { requestersOverflow: true as const } : {}),
  };
}

function checkExec(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
