/**
 * Human approvals: the port every adapter implements (memory, Redis, SQLite), the record it
 * keeps, and the rules shared by every adapter (binding, expiry, single use).
 */
import { createHash } from 'node:crypto';
import type { Page, PageQuery } from '../ports.ts';
import { canonicalJson } from '../tool-hash.ts';

/**
 * The stored status of an approval request. `expired` is never stored: a `pending` or `approved`
 * request read after its `expiresAt` is reported as `expired`.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'consumed' | 'expired';

/** A reference to an entity, with its type as Cedar knows it (`Argus::Agent`). */
export interface ApprovalEntity {
  type: string;
  id: string;
}

/**
 * What an approval is bound to: the retry must name the same principal, action and resource, with
 * the same context (digest of the canonical context without `now` and `usage`).
 */
export interface ApprovalBinding {
  principal: ApprovalEntity;
  /** Action name (`tool:call`). */
  action: string;
  resource: ApprovalEntity;
  /** sha256 (hex) of the canonical context; see {@link contextDigest}. */
  contextDigest: string;
}

/** The authenticated caller that opened an approval request (`admin`/`admin`, `service`/`proxy`, `human`/`alice`). */
export interface ApprovalRequester {
  kind: string;
  subject: string;
}

/** An approval request as stored and shown to humans. Value-free: the context is kept as a digest only. */
export interface ApprovalRequest extends ApprovalBinding {
  id: string;
  status: ApprovalStatus;
  /** The decision that asked for the approval (the retry's audit record links to it). */
  decisionId: string;
  /** The approval-gated permits that held the request. */
  policies: string[];
  /** The declared intent and goal, for the human deciding. */
  intent?: string;
  goal?: string;
  /**
   * Who asked: the authenticated caller of the decision that opened the request (its credential's
   * kind and subject). That caller may never answer it. Absent on a request opened by a caller
   * without a credential subject.
   */
  requestedBy?: ApprovalRequester;
  /**
   * Every other caller that asked for the same held decision while the request was pending (a
   * re-ask is handed this request, not a new one), first asker first, distinct, at most
   * `MAX_REQUESTERS - 1`. None of them may answer it either.
   */
  alsoRequestedBy?: ApprovalRequester[];
  /**
   * More distinct callers asked than {@link MAX_REQUESTERS} records. Those not recorded cannot be
   * told apart from anyone else, so the request can no longer be approved (rejected, or left to
   * expire, it makes way for a new one).
   */
  requestersOverflow?: true;
  /** The human at the root of the held request's delegation chain (given, or carried by a delegation token). */
  root?: string;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  consumedAt?: string;
  /** The decision that used the approval. */
  consumedBy?: string;
}

/** A request to open. */
export type NewApproval = Omit<
  ApprovalRequest,
  'status' | 'decidedBy' | 'decidedAt' | 'reason' | 'consumedAt' | 'consumedBy' | 'alsoRequestedBy' | 'requestersOverflow'
>;

/** How many distinct callers a request records as having asked for it: `requestedBy`, and up to one fewer in `alsoRequestedBy`. */
export const MAX_REQUESTERS = 16;

/**
 * Whether `who` asked for the held decision of `request`: the same credential kind and subject as
 * `requestedBy` or one of `alsoRequestedBy`. A `who` without a kind is compared by subject alone
 * (fail closed).
 */
export function isRequester(
  request: Pick<ApprovalRequest, 'requestedBy' | 'alsoRequestedBy'>,
  who: { kind?: string; subject: string },
): boolean {
  const same = (asker: ApprovalRequester | undefined) =>
    asker !== undefined && asker.subject === who.subject && (who.kind === undefined || asker.kind === who.kind);
  return same(request.requestedBy) || (request.alsoRequestedBy ?? []).some(same);
}

/**
 * `request` with `requester` recorded as having asked for it, or undefined when nothing changes:
 * already recorded, or already overflowed. A caller past `MAX_REQUESTERS - 1` in
 * `alsoRequestedBy` sets `requestersOverflow` instead of being recorded. Callers check the request is still pending.
 */
export function withRequester(request: ApprovalRequest, requester: ApprovalRequester): ApprovalRequest | undefined {
  if (isRequester(request, requester)) return undefined;
  if (request.requestersOverflow) return undefined;
  const also = request.alsoRequestedBy ?? [];
  if (also.length >= MAX_REQUESTERS - 1) return { ...request, requestersOverflow: true };
  return { ...request, alsoRequestedBy: [...also, { kind: requester.kind, subject: requester.subject }] };
}

/** A human's answer. */
export interface ApprovalVerdict {
  decision: 'approve' | 'reject';
  /** The authenticated subject of the human. */
  by: string;
  reason?: string;
  at: Date;
}

/** Why a retry was not granted. `pending` means a human has not answered yet. */
export type ApprovalRefusal = 'unknown' | 'mismatch' | 'consumed' | 'rejected' | 'expired' | 'pending';

/** The answer of {@link ApprovalStore.consume}: the consumed request, or why it was refused (nothing changed). */
export type ConsumeOutcome = { ok: true; request: ApprovalRequest } | { ok: false; reason: ApprovalRefusal; request?: ApprovalRequest };

/** The answer of {@link ApprovalStore.decide}: the decided request, or why it could not be decided. */
export type DecideOutcome =
  { ok: true; request: ApprovalRequest } | { ok: false; reason: 'unknown' | 'expired' | 'already_decided'; request?: ApprovalRequest };

/** Listing filter: by (reported) status, newest first, paged. */
export interface ApprovalQuery extends PageQuery {
  status?: ApprovalStatus;
}

/**
 * Approval requests, shared by every replica through the backing store.
 *
 * Rules every adapter keeps (checked by `approvalStoreContract`):
 * - `decide` moves `pending → approved | rejected` once, before `expiresAt`;
 * - `consume` moves `approved → consumed` atomically across processes, only when the binding
 *   matches and before `expiresAt`; a refused consume changes nothing;
 * - reads report a `pending` or `approved` request past `expiresAt` as `expired`.
 */
export interface ApprovalStore {
  create(request: NewApproval): Promise<ApprovalRequest>;
  get(id: string, now: Date): Promise<ApprovalRequest | undefined>;
  /**
   * The newest request opened for `binding`, when it is still waiting for a human (pending,
   * unexpired): a held agent that asks again without the id is given the same request, not a
   * new one. Undefined when the newest one was answered, used or expired.
   */
  findPending(binding: ApprovalBinding, now: Date): Promise<ApprovalRequest | undefined>;
  list(query: ApprovalQuery, now: Date): Promise<Page<ApprovalRequest>>;
  /**
   * Records `requester` as another caller that asked for the held decision (see
   * {@link withRequester}), atomically across processes, while the request is pending and
   * unexpired. Answers the request as it is afterwards, or undefined when it is unknown or no
   * longer pending (then nothing is recorded).
   */
  addRequester(id: string, requester: ApprovalRequester, now: Date): Promise<ApprovalRequest | undefined>;
  decide(id: string, verdict: ApprovalVerdict): Promise<DecideOutcome>;
  consume(id: string, use: { binding: ApprovalBinding; decisionId: string; at: Date }): Promise<ConsumeOutcome>;
  close(): Promise<void>;
}

/** Context keys left out of the digest: they change on every retry. */
export const UNBOUND_CONTEXT_KEYS: readonly string[] = ['now', 'usage'];

/** sha256 (hex) of the canonical context without `now` and `usage`. */
export function contextDigest(context: Record<string, unknown>): string {
  const bound: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) if (!UNBOUND_CONTEXT_KEYS.includes(k)) bound[k] = v;
  return createHash('sha256').update(canonicalJson(bound), 'utf8').digest('hex');
}

/** The binding as one comparable string (canonical JSON of its four parts). */
export function bindingKey(b: ApprovalBinding): string {
  return canonicalJson({
    principal: { type: b.principal.type, id: b.principal.id },
    action: b.action,
    resource: { type: b.resource.type, id: b.resource.id },
    contextDigest: b.contextDigest,
  });
}

/** True when a retry's binding is the one the approval was granted for. */
export function sameBinding(a: ApprovalBinding, b: ApprovalBinding): boolean {
  return (
    a.principal.type === b.principal.type &&
    a.principal.id === b.principal.id &&
    a.action === b.action &&
    a.resource.type === b.resource.type &&
    a.resource.id === b.resource.id &&
    a.contextDigest === b.contextDigest
  );
}

/** The status a reader sees: a live `pending`/`approved` request past its expiry is `expired`. */
export function reportedStatus(request: Pick<ApprovalRequest, 'status' | 'expiresAt'>, now: Date): ApprovalStatus {
  if ((request.status === 'pending' || request.status === 'approved') && Date.parse(request.expiresAt) <= now.getTime()) return 'expired';
  return request.status;
}

/** A copy of `request` with its reported status. */
export function asReported(request: ApprovalRequest, now: Date): ApprovalRequest {
  return { ...request, status: reportedStatus(request, now) };
}

/**
 * The consume rule, in the order every adapter applies it (the Redis script mirrors it):
 * binding, then a spent or rejected request, then expiry, then a request still pending.
 */
export function consumeRefusal(request: ApprovalRequest, binding: ApprovalBinding, at: Date): ApprovalRefusal | undefined {
  if (!sameBinding(request, binding)) return 'mismatch';
  if (request.status === 'consumed') return 'consumed';
  if (request.status === 'rejected') return 'rejected';
  if (Date.parse(request.expiresAt) <= at.getTime()) return 'expired';
  if (request.status === 'pending') return 'pending';
  return request.status === 'approved' ? undefined : 'unknown';
}

/** The decide rule shared by the adapters. */
export function decideRefusal(request: ApprovalRequest, at: Date): 'expired' | 'already_decided' | undefined {
  if (request.status !== 'pending') return 'already_decided';
  if (Date.parse(request.expiresAt) <= at.getTime()) return 'expired';
  return undefined;
}

/** The request after a verdict. */
export function applyVerdict(request: ApprovalRequest, verdict: ApprovalVerdict): ApprovalRequest {
  return {
    ...request,
    status: verdict.decision === 'approve' ? 'approved' : 'rejected',
    decidedBy: verdict.by,
    decidedAt: verdict.at.toISOString(),
    ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
  };
}

/** The statuses a listing can filter on, and the stored statuses behind each. */
export function storedStatusesFor(status: ApprovalStatus): ApprovalStatus[] {
  return status === 'expired' ? ['pending', 'approved'] : [status];
}
