import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '@argus/platform';
import type { PolicyVersionStore } from '../ports.ts';
import { policyVersionHash } from '../tool-hash.ts';
import { testClock, type TestClock } from './test-clock.ts';

/** What a policy-version contract run needs: a fresh, empty store. */
export type PolicyVersionStoreFactory = (clock: TestClock) => Promise<{ store: PolicyVersionStore; close: () => Promise<void> }>;

const files = (n: number) => [{ path: 'policies/base.cedar', text: `permit(principal, action, resource) when { ${n} == ${n} };` }];

/** The shared contract every `PolicyVersionStore` adapter must pass. */
export function policyVersionStoreContract(adapter: string, factory: PolicyVersionStoreFactory): void {
  describe(`PolicyVersionStore contract (${adapter})`, () => {
    let store: PolicyVersionStore;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ store, close } = await factory(testClock()));
    });
    afterEach(async () => {
      await close();
    });

    it('saves versions idempotently by content hash', async () => {
      const v = policyVersionHash(files(1));
      const first = await store.saveVersion({ version: v, files: files(1), author: 'alice', message: 'initial' });
      expect(first.created).toBe(true);
      expect(first.version).toMatchObject({ version: v, author: 'alice', message: 'initial', files: files(1) });
      const again = await store.saveVersion({ version: v, files: files(1), author: 'bob', message: 'same' });
      expect(again).toEqual({ version: first.version, created: false });
      expect(await store.getVersion(v)).toEqual(first.version);
      expect(await store.getVersion('nope')).toBeUndefined();
    });

    it('lists versions newest first, without files, page by page', async () => {
      const versions: string[] = [];
      for (let i = 0; i < 5; i++) {
        const v = policyVersionHash(files(i));
        versions.push(v);
        await store.saveVersion({ version: v, files: files(i), author: 'a', message: `m${i}` });
      }
      const p1 = await store.listVersions({ limit: 2 });
      expect(p1.items.map((v) => v.version)).toEqual([versions[4], versions[3]]);
      expect(p1.items[0]).toMatchObject({ fileCount: 1, message: 'm4' });
      expect(p1.items[0]).not.toHaveProperty('files');
      const p2 = await store.listVersions({ limit: 2, cursor: p1.nextCursor! });
      const p3 = await store.listVersions({ limit: 2, cursor: p2.nextCursor! });
      expect([...p2.items, ...p3.items].map((v) => v.version)).toEqual([versions[2], versions[1], versions[0]]);
      expect(p3.nextCursor).toBeUndefined();
    });

    it('activates, rolls back and keeps the activation history', async () => {
      expect(await store.getActive()).toBeUndefined();
      const v1 = policyVersionHash(files(1));
      const v2 = policyVersionHash(files(2));
      await store.saveVersion({ version: v1, files: files(1), author: 'a', message: 'one' });
      await store.saveVersion({ version: v2, files: files(2), author: 'a', message: 'two' });
      await expect(store.activate('unknown', 'a', 'x')).rejects.toBeInstanceOf(NotFoundError);
      const a1 = await store.activate(v1, 'alice', 'go live');
      expect(a1).toMatchObject({ version: v1, action: 'activate', by: 'alice', message: 'go live' });
      expect(a1).not.toHaveProperty('previous');
      await store.activate(v2, 'alice', 'update');
      expect((await store.getActive())?.version).toBe(v2);
      const rb = await store.rollback(v1, 'bob', 'v2 broke checkout');
      expect(rb).toMatchObject({ version: v1, action: 'rollback', by: 'bob', previous: v2 });
      expect((await store.getActive())?.version).toBe(v1);
      const history = await store.activations();
      expect(history.items.map((h) => `${h.action}:${h.version === v1 ? 1 : 2}`)).toEqual(['rollback:1', 'activate:2', 'activate:1']);
      expect(history.items[0]!.seq).toBeGreaterThan(history.items[1]!.seq);
      const page = await store.activations({ limit: 1 });
      expect(page.items).toHaveLength(1);
      expect((await store.activations({ limit: 5, cursor: page.nextCursor! })).items).toHaveLength(2);
    });
  });
}
