/**
 * The contract every `ApprovalStore` adapter must pass (memory, Redis, SQLite). Imported by tests
 * only: it imports vitest.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalBinding, ApprovalStore, NewApproval } from '../approvals/ports.ts';

/** Builds a fresh, isolated store and the function that cleans up after it. */
export type ApprovalStoreFactory = () => Promise<{ store: ApprovalStore; close: () => Promise<void> }>;

const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/** A binding for `tool` (same principal, action and context digest). */
export function binding(tool = 'crm.search', digest = 'a'.repeat(64)): ApprovalBinding {
  return {
    principal: { type: 'Argus::Agent', id: 'support-bot' },
    action: 'tool:call',
    resource: { type: 'Argus::Tool', id: tool },
    contextDigest: digest,
  };
}

/** A new request created at `T0 + createdMs`, expiring `ttlMs` later. */
export function newApproval(id: string, createdMs = 0, ttlMs = 60_000, b: ApprovalBinding = binding()): NewApproval {
  return {
    ...b,
    id,
    decisionId: `d-${id}`,
    policies: ['gated'],
    intent: 'lookup-order-status',
    requestedBy: { kind: 'service', subject: 'proxy' },
    root: 'alice',
    createdAt: at(createdMs).toISOString(),
    expiresAt: at(createdMs + ttlMs).toISOString(),
  };
}

/** Runs the shared contract against one adapter. */
export function approvalStoreContract(adapter: string, factory: ApprovalStoreFactory): void {
  describe(`ApprovalStore contract (${adapter})`, () => {
    let store: ApprovalStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    it('creates a pending request that reads back whole', async () => {
      const created = await store.create(newApproval('a1'));
      expect(created.status).toBe('pending');
      expect(await store.get('a1', at(1))).toEqual({ ...newApproval('a1'), status: 'pending' });
      expect(await store.get('missing', at(1))).toBeUndefined();
    });

    it('approves once, recording who and why', async () => {
      await store.create(newApproval('a1'));
      const r = await store.decide('a1', { decision: 'approve', by: 'alice', reason: 'ok for today', at: at(10) });
      expect(r).toMatchObject({
        ok: true,
        request: { status: 'approved', decidedBy: 'alice', reason: 'ok for today', decidedAt: at(10).toISOString() },
      });
      expect(await store.decide('a1', { decision: 'reject', by: 'bob', at: at(11) })).toMatchObject({
        ok: false,
        reason: 'already_decided',
        request: { status: 'approved', decidedBy: 'alice' },
      });
      expect(await store.decide('nope', { decision: 'approve', by: 'alice', at: at(11) })).toEqual({ ok: false, reason: 'unknown' });
    });

    it('an approved request is consumed once; a replay is refused', async () => {
      await store.create(newApproval('a1'));
      await store.decide('a1', { decision: 'approve', by: 'alice', at: at(10) });
      const first = await store.consume('a1', { binding: binding(), decisionId: 'retry-1', at: at(20) });
      expect(first).toMatchObject({ ok: true, request: { status: 'consumed', consumedBy: 'retry-1', consumedAt: at(20).toISOString() } });
      expect(await store.consume('a1', { binding: binding(), decisionId: 'retry-2', at: at(21) })).toMatchObject({
        ok: false,
        reason: 'consumed',
      });
      expect((await store.get('a1', at(22)))?.consumedBy).toBe('retry-1');
    });

    it('another resource or context is refused without spending the approval', async () => {
      await store.create(newApproval('a1'));
      await store.decide('a1', { decision: 'approve', by: 'alice', at: at(10) });
      expect(await store.consume('a1', { binding: binding('crm.delete'), decisionId: 'x', at: at(20) })).toMatchObject({
        ok: false,
        reason: 'mismatch',
      });
      expect(await store.consume('a1', { binding: binding('crm.search', 'b'.repeat(64)), decisionId: 'x', at: at(20) })).toMatchObject({
        ok: false,
        reason: 'mismatch',
      });
      expect(
        await store.consume('a1', {
          binding: { ...binding(), principal: { type: 'Argus::Agent', id: 'other' } },
          decisionId: 'x',
          at: at(20),
        }),
      ).toMatchObject({ ok: false, reason: 'mismatch' });
      expect((await store.consume('a1', { binding: binding(), decisionId: 'y', at: at(21) })).ok).toBe(true);
    });

    it('pending and rejected requests cannot be consumed', async () => {
      await store.create(newApproval('p'));
      await store.create(newApproval('r', 1));
      await store.decide('r', { decision: 'reject', by: 'alice', reason: 'no', at: at(10) });
      expect(await store.consume('p', { binding: binding(), decisionId: 'x', at: at(20) })).toMatchObject({ ok: false, reason: 'pending' });
      expect(await store.consume('r', { binding: binding(), decisionId: 'x', at: at(20) })).toMatchObject({
        ok: false,
        reason: 'rejected',
        request: { status: 'rejected' },
      });
      expect(await store.consume('zz', { binding: binding(), decisionId: 'x', at: at(20) })).toEqual({ ok: false, reason: 'unknown' });
    });

    it('expires: no decision and no use at or after expiresAt, reported as expired', async () => {
      await store.create(newApproval('e1', 0, 1_000));
      await store.create(newApproval('e2', 0, 1_000));
      expect(await store.decide('e1', { decision: 'approve', by: 'alice', at: at(1_000) })).toMatchObject({ ok: false, reason: 'expired' });
      await store.decide('e2', { decision: 'approve', by: 'alice', at: at(999) });
      expect(await store.consume('e2', { binding: binding(), decisionId: 'x', at: at(1_000) })).toMatchObject({
        ok: false,
        reason: 'expired',
      });
      expect((await store.get('e1', at(1_000)))?.status).toBe('expired');
      expect((await store.get('e2', at(999)))?.status).toBe('approved');
      expect((await store.get('e2', at(5_000)))?.status).toBe('expired');
    });

    it('lists newest first by status, paged without gaps or repeats', async () => {
      for (let i = 0; i < 7; i++) await store.create(newApproval(`l${i}`, i * 10));
      await store.decide('l3', { decision: 'approve', by: 'alice', at: at(100) });
      await store.create(newApproval('short', 80, 50));
      const now = at(200);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ status: 'pending', limit: 2, ...(cursor ? { cursor } : {}) }, now);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(['l6', 'l5', 'l4', 'l2', 'l1', 'l0']);
      expect((await store.list({ status: 'approved' }, now)).items.map((r) => r.id)).toEqual(['l3']);
      expect((await store.list({ status: 'expired' }, now)).items.map((r) => r.id)).toEqual(['short']);
      expect((await store.list({}, now)).items).toHaveLength(8);
    });

    it('finds the newest request of a binding while it is pending', async () => {
      await store.create(newApproval('old', 0));
      await store.create(newApproval('new', 10));
      await store.create(newApproval('other', 20, 60_000, binding('crm.export')));
      expect((await store.findPending(binding(), at(30)))?.id).toBe('new');
      expect((await store.findPending(binding('crm.export'), at(30)))?.id).toBe('other');
      expect(await store.findPending(binding('crm.none'), at(30))).toBeUndefined();
      expect(await store.findPending(binding(), at(60_010))).toBeUndefined();
      await store.decide('new', { decision: 'approve', by: 'alice', at: at(40) });
      expect(await store.findPending(binding(), at(50))).toBeUndefined();
    });

    it('concurrent retries consume an approval exactly once', async () => {
      await store.create(newApproval('c'));
      await store.decide('c', { decision: 'approve', by: 'alice', at: at(10) });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.consume('c', { binding: binding(), decisionId: `r${i}`, at: at(20) })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'consumed')).toHaveLength(19);
    });
  });
}
