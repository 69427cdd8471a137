import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '@argus/platform';
import type { DelegationStore, NewDelegationGrant } from '../ports.ts';
import { testClock, type TestClock } from './test-clock.ts';

/** What a delegation contract run needs: a fresh, empty store on the given clock. */
export type DelegationStoreFactory = (clock: TestClock) => Promise<{ store: DelegationStore; close: () => Promise<void> }>;

const human = (id: string) => ({ type: 'Human', id });
const agent = (id: string) => ({ type: 'Agent', id });

function grant(
  id: string,
  from: { type: string; id: string },
  to: { type: string; id: string },
  extra: Partial<NewDelegationGrant> = {},
): NewDelegationGrant {
  return {
    id,
    from,
    to,
    scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] },
    expiresAt: '2030-06-01T00:00:00Z',
    createdBy: 'alice',
    ...extra,
  };
}

/** The shared contract every `DelegationStore` adapter must pass. */
export function delegationStoreContract(adapter: string, factory: DelegationStoreFactory): void {
  describe(`DelegationStore contract (${adapter})`, () => {
    let store: DelegationStore;
    let close: () => Promise<void>;
    let clock: TestClock;

    beforeEach(async () => {
      clock = testClock('2030-01-01T00:00:00Z');
      ({ store, close } = await factory(clock));
    });
    afterEach(async () => {
      await close();
    });

    it('creates and reads grants; duplicates conflict', async () => {
      const g = await store.create(grant('g1', human('alice'), agent('planner'), { maxDepth: 2 }));
      expect(g).toMatchObject({
        id: 'g1',
        from: human('alice'),
        to: agent('planner'),
        maxDepth: 2,
        expiresAt: '2030-06-01T00:00:00.000Z',
        createdBy: 'alice',
      });
      expect(g.revokedAt).toBeUndefined();
      expect(await store.get('g1')).toEqual(g);
      expect(await store.get('nope')).toBeUndefined();
      await expect(store.create(grant('g1', human('bob'), agent('x')))).rejects.toBeInstanceOf(ConflictError);
    });

    it('lists by from, to and activity, newest first', async () => {
      await store.create(grant('g1', human('alice'), agent('planner')));
      await store.create(grant('g2', human('alice'), agent('helper'), { expiresAt: '2030-01-01T00:00:10Z' }));
      await store.create(grant('g3', agent('planner'), agent('helper'), { parentId: 'g1' }));
      const ids = async (q: Parameters<DelegationStore['list']>[0]) => (await store.list(q)).items.map((g) => g.id);
      expect(await ids({})).toEqual(['g3', 'g2', 'g1']);
      expect(await ids({ from: human('alice') })).toEqual(['g2', 'g1']);
      expect(await ids({ to: agent('helper') })).toEqual(['g3', 'g2']);
      expect(await ids({ to: agent('helper'), active: true })).toEqual(['g3', 'g2']);
      clock.advance(60_000);
      expect(await ids({ to: agent('helper'), active: true })).toEqual(['g3']);
      expect(await ids({ active: false })).toEqual(['g2']);
      expect(await ids({ active: true, at: '2029-12-31T00:00:00Z' })).toEqual(['g3', 'g2', 'g1']);
      const p1 = await store.list({ limit: 2 });
      expect((await store.list({ limit: 2, cursor: p1.nextCursor! })).items.map((g) => g.id)).toEqual(['g1']);
    });

    it('finds the newest active grant between two entities', async () => {
      await store.create(grant('old', human('alice'), agent('bot')));
      await store.create(grant('new', human('alice'), agent('bot')));
      await store.create(grant('short', human('alice'), agent('bot'), { expiresAt: '2030-01-01T00:00:05Z' }));
      expect((await store.findActive(human('alice'), agent('bot')))?.id).toBe('short');
      clock.advance(10_000);
      expect((await store.findActive(human('alice'), agent('bot')))?.id).toBe('new');
      await store.revoke('new', 'alice', 'done');
      expect((await store.findActive(human('alice'), agent('bot')))?.id).toBe('old');
      expect(await store.findActive(human('bob'), agent('bot'))).toBeUndefined();
    });

    it('revokes a grant and its whole subtree, once', async () => {
      await store.create(grant('root', human('alice'), agent('planner')));
      await store.create(grant('child', agent('planner'), agent('worker'), { parentId: 'root' }));
      await store.create(grant('grandchild', agent('worker'), agent('sub'), { parentId: 'child' }));
      await store.create(grant('sibling', agent('planner'), agent('other'), { parentId: 'root' }));
      await store.create(grant('unrelated', human('bob'), agent('planner')));
      await store.revoke('sibling', 'alice', 'not needed');
      const revoked = await store.revoke('root', 'alice', 'project over');
      expect(revoked.sort()).toEqual(['child', 'grandchild', 'root']);
      const gc = await store.get('grandchild');
      expect(gc).toMatchObject({ revokedBy: 'alice', revokeReason: 'project over' });
      expect(gc?.revokedAt).toBeDefined();
      expect((await store.get('sibling'))?.revokeReason).toBe('not needed');
      expect((await store.get('unrelated'))?.revokedAt).toBeUndefined();
      expect(await store.revoke('root', 'alice', 'again')).toEqual([]);
      await expect(store.revoke('ghost', 'alice', 'x')).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
