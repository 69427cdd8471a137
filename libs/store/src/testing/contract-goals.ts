import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '@argus/platform';
import type { GoalStore, NewGoal } from '../ports.ts';
import { testClock } from './test-clock.ts';

/** What a goal contract run needs: a fresh, empty store. */
export type GoalStoreFactory = (clock: ReturnType<typeof testClock>) => Promise<{ store: GoalStore; close: () => Promise<void> }>;

const goal = (id: string, extra: Partial<NewGoal> = {}): NewGoal => ({
  id,
  owner: 'alice',
  objective: 'answer support tickets',
  intents: ['lookup-order-status'],
  agents: ['support-bot'],
  expiresAt: '2030-02-01T00:00:00Z',
  ...extra,
});

/** The shared contract every `GoalStore` adapter must pass. */
export function goalStoreContract(adapter: string, factory: GoalStoreFactory): void {
  describe(`GoalStore contract (${adapter})`, () => {
    let store: GoalStore;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ store, close } = await factory(testClock()));
    });
    afterEach(async () => {
      await close();
    });

    it('creates goals as active at version 1; duplicates conflict', async () => {
      const g = await store.create(goal('g1', { budget: { maxActions: 10, maxCostUsd: 2.5 } }));
      expect(g).toMatchObject({
        id: 'g1',
        status: 'active',
        version: 1,
        budget: { maxActions: 10, maxCostUsd: 2.5 },
        expiresAt: '2030-02-01T00:00:00.000Z',
      });
      expect(await store.get('g1')).toEqual(g);
      expect(await store.get('g2')).toBeUndefined();
      await expect(store.create(goal('g1'))).rejects.toBeInstanceOf(ConflictError);
    });

    it('lists by owner, status and agent with paging', async () => {
      await store.create(goal('g1'));
      await store.create(goal('g2', { owner: 'bob', agents: ['planner', 'support-bot'] }));
      await store.create(goal('g3', { agents: ['planner'], status: 'paused' }));
      const ids = async (q: Parameters<GoalStore['list']>[0]) => (await store.list(q)).items.map((g) => g.id);
      expect(await ids({ owner: 'alice' })).toEqual(['g1', 'g3']);
      expect(await ids({ status: 'paused' })).toEqual(['g3']);
      expect(await ids({ agent: 'planner' })).toEqual(['g2', 'g3']);
      const p1 = await store.list({ limit: 2 });
      expect(p1.items.map((g) => g.id)).toEqual(['g1', 'g2']);
      expect((await store.list({ limit: 2, cursor: p1.nextCursor! })).items.map((g) => g.id)).toEqual(['g3']);
    });

    it('moves status, refuses to leave a terminal status, and checks versions', async () => {
      await store.create(goal('g1'));
      const paused = await store.updateStatus('g1', 'paused', { expectedVersion: 1 });
      expect(paused).toMatchObject({ status: 'paused', version: 2 });
      await expect(store.updateStatus('g1', 'active', { expectedVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
      await store.updateStatus('g1', 'completed');
      await expect(store.updateStatus('g1', 'active')).rejects.toBeInstanceOf(ConflictError);
      await expect(store.updateStatus('ghost', 'active')).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.get('g1'))?.status).toBe('completed');
    });
  });
}
