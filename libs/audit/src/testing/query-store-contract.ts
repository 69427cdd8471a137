/**
 * The contract every `AuditQueryStore` (that is also an `AuditSink`) must honour, run against
 * SQLite always and MongoDB when `MONGODB_URL` is set.
 */
import { describe, expect, it } from 'vitest';
import { Chainer } from '../chain.ts';
import { createRecordBuilder } from '../record.ts';
import type { AuditQueryStore, AuditRecord, AuditSink, ChainedRecord } from '../types.ts';
import { makeDecisionEvent, type SampleKind } from './events.ts';

/** A store under test, freshly emptied. */
export type StoreFactory = () => Promise<AuditSink & AuditQueryStore>;

/** Builds `n` chained records of rotating kinds for writer `writer`. */
export function sampleChain(n: number, writer = 'w1'): ChainedRecord[] {
  const build = createRecordBuilder();
  const chainer = new Chainer(writer);
  const kinds: SampleKind[] = ['allow', 'deny', 'hard_deny', 'proxied'];
  return Array.from({ length: n }, (_, i) => chainer.chain<AuditRecord>(build(makeDecisionEvent(kinds[i % 4], i), new Date())));
}

/** Registers the contract suite for `name`. */
export function describeQueryStoreContract(name: string, make: StoreFactory): void {
  describe(`AuditQueryStore contract: ${name}`, () => {
    it('writes idempotently, reports the head and returns ranges in storage order', async () => {
      const store = await make();
      try {
        const records = sampleChain(10);
        await store.write(records.slice(0, 6));
        await store.write(records.slice(4));
        expect(await store.head!('w1')).toEqual({ seq: 10, hash: records[9]!.hash });
        expect(await store.head!('nobody')).toBeUndefined();
        const range = await store.range(3, 7, 'w1');
        expect(range.map((r) => r.seq)).toEqual([3, 4, 5, 6, 7]);
        expect(range[0]).toEqual(records[2]);
        expect(await store.writers()).toEqual(['w1']);
      } finally {
        await store.close();
      }
    });

    it('filters by principal, root, goal, intent, outcome, policy and time', async () => {
      const store = await make();
      try {
        const records = sampleChain(12) as AuditRecord[];
        await store.write(records);
        const ids = async (f: Parameters<AuditQueryStore['query']>[0]) =>
          (await store.query(f, undefined, 100)).records.map((r) => r.decision_id).sort();
        const expected = (pred: (r: AuditRecord) => boolean) =>
          records
            .filter(pred)
            .map((r) => r.decision_id)
            .sort();
        expect(await ids({ principal: 'planner' })).toEqual(expected((r) => r.principal.id === 'planner'));
        expect(await ids({ principal: 'Agent::"planner"' })).toEqual(expected((r) => r.principal.id === 'planner'));
        expect(await ids({ principal: 'Human::planner' })).toEqual([]);
        expect(await ids({ root: 'alice' })).toEqual(expected((r) => r.root?.id === 'alice'));
        expect(await ids({ outcome: 'deny' })).toEqual(expected((r) => r.outcome === 'deny'));
        expect(await ids({ policy: 'forbid-secret-tools' })).toEqual(expected((r) => r.policies.includes('forbid-secret-tools')));
        expect(await ids({ goal: 'goal-7f3a', intent: 'lookup-order-status', outcome: 'allow' })).toEqual(
          expected((r) => r.outcome === 'allow'),
        );
        expect(await ids({ goal: 'other' })).toEqual([]);
        const from = records[3]!.time;
        const to = records[7]!.time;
        expect(await ids({ from, to })).toEqual(expected((r) => r.time >= from && r.time < to));
        expect((await ids({ from, to })).length).toBe(4);
      } finally {
        await store.close();
      }
    });

    it('pages newest first with a cursor, without gaps or repeats', async () => {
      const store = await make();
      try {
        const records = sampleChain(25) as AuditRecord[];
        await store.write(records);
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.query({}, cursor, 10);
          seen.push(...page.records.map((r) => r.decision_id));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages < 10);
        expect(pages).toBe(3);
        expect(seen).toEqual([...records].reverse().map((r) => r.decision_id));
      } finally {
        await store.close();
      }
    });

    it('gets one decision by id', async () => {
      const store = await make();
      try {
        const records = sampleChain(3) as AuditRecord[];
        await store.write(records);
        expect(await store.get(records[1]!.decision_id)).toEqual(records[1]);
        expect(await store.get('nope')).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('rejects a forged cursor as invalid input', async () => {
      const store = await make();
      try {
        await expect(store.query({}, 'bm90LWEtY3Vyc29y', 10)).rejects.toMatchObject({ code: 'invalid_parameter' });
      } finally {
        await store.close();
      }
    });
  });
}
