/**
 * The contract every `AuditQueryStore` (that is also an `AuditSink`) must honour, run against
 * every queryable sink: memory and SQLite always, MongoDB when `MONGODB_URL` is set.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chainer, signCheckpoint } from '../chain.ts';
import { createRecordBuilder } from '../record.ts';
import type { AuditQueryStore, AuditRecord, AuditSink, ChainedRecord, CheckpointRecord } from '../types.ts';
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

/** Every decision of `records`, newest first as a query returns them: time, writer, seq descending. */
function newestFirst(records: readonly ChainedRecord[]): string[] {
  return records
    .filter((r): r is AuditRecord => r.kind === 'decision')
    .sort((a, b) =>
      a.time !== b.time ? (a.time < b.time ? 1 : -1) : a.writer !== b.writer ? (a.writer < b.writer ? 1 : -1) : b.seq - a.seq,
    )
    .map((r) => `${r.writer}:${r.seq}`);
}

/** Every page of a query, followed cursor by cursor (at most 50 pages), as `writer:seq`. */
async function allPages(store: AuditQueryStore, filters: Parameters<AuditQueryStore['query']>[0], limit: number) {
  const seen: string[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query(filters, cursor, limit);
    seen.push(...page.records.map((r) => `${r.writer}:${r.seq}`));
    sizes.push(page.records.length);
    cursor = page.nextCursor;
  } while (cursor && sizes.length < 50);
  return { seen, sizes };
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

    it('answers decisions only: a checkpoint is in ranges and heads, never in a query or a get', async () => {
      const store = await make();
      try {
        const { privateKey } = generateKeyPairSync('ed25519');
        const build = createRecordBuilder();
        const chainer = new Chainer('w1');
        const records: ChainedRecord[] = [0, 1, 2].map((i) => chainer.chain<AuditRecord>(build(makeDecisionEvent('allow', i), new Date())));
        const checkpoint = chainer.chain<CheckpointRecord>(signCheckpoint('w1', chainer.head(), privateKey, new Date()));
        records.push(checkpoint);
        await store.write(records);
        expect((await store.query({}, undefined, 100)).records.map((r) => r.kind)).toEqual(['decision', 'decision', 'decision']);
        expect(await store.head!('w1')).toEqual({ seq: 4, hash: checkpoint.hash });
        expect((await store.range(1, 4, 'w1')).map((r) => r.kind)).toEqual(['decision', 'decision', 'decision', 'checkpoint']);
        expect(await store.range(4, 4)).toEqual([checkpoint]);
      } finally {
        await store.close();
      }
    });

    it('filters by action', async () => {
      const store = await make();
      try {
        const records = sampleChain(8) as AuditRecord[];
        await store.write(records);
        const page = await store.query({ action: 'llm:invoke' }, undefined, 100);
        expect(page.records.map((r) => r.decision_id).sort()).toEqual(
          records
            .filter((r) => r.action === 'llm:invoke')
            .map((r) => r.decision_id)
            .sort(),
        );
        expect(page.records.length).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('orders several writers newest first (time, then writer, then seq) and pages across them', async () => {
      const store = await make();
      try {
        // Two replicas deciding at the same instants: only the writer and seq break the ties.
        const w1 = sampleChain(7, 'w1');
        const w2 = sampleChain(7, 'w2');
        await store.write(w1);
        await store.write(w2);
        const expected = newestFirst([...w1, ...w2]);
        expect(expected.slice(0, 3)).toEqual(['w2:7', 'w1:7', 'w2:6']);
        const { seen, sizes } = await allPages(store, {}, 3);
        expect(seen).toEqual(expected);
        expect(sizes).toEqual([3, 3, 3, 3, 2]);
        expect(await store.writers()).toEqual(['w1', 'w2']);
        expect((await store.range(2, 3)).map((r) => `${r.writer}:${r.seq}`)).toEqual(['w1:2', 'w1:3', 'w2:2', 'w2:3']);
        expect(await store.head!('w2')).toEqual({ seq: 7, hash: w2[6]!.hash });
      } finally {
        await store.close();
      }
    });

    it('gives a next cursor only when more records follow, and keeps the filter across pages', async () => {
      const store = await make();
      try {
        const records = sampleChain(12) as AuditRecord[];
        await store.write(records);
        const whole = await store.query({}, undefined, 12);
        expect(whole.records).toHaveLength(12);
        expect(whole.nextCursor).toBeUndefined();
        const first = await store.query({}, undefined, 6);
        expect(first.nextCursor).toBeDefined();
        const second = await store.query({}, first.nextCursor, 6);
        expect(second.records).toHaveLength(6);
        expect(second.nextCursor).toBeUndefined();
        const denies = await allPages(store, { outcome: 'deny' }, 2);
        expect(denies.seen).toEqual(newestFirst(records.filter((r) => r.outcome === 'deny')));
        expect(denies.sizes.every((n) => n <= 2)).toBe(true);
      } finally {
        await store.close();
      }
    });
  });
}
