import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SwitchStore } from '../switches/ports.ts';
import { testClock } from './test-clock.ts';

/** What a switch contract run needs: a fresh, empty store, and a way to break it (fail-closed checks). */
export type SwitchStoreFactory = (
  clock: ReturnType<typeof testClock>,
) => Promise<{ store: SwitchStore; close: () => Promise<void>; breakIt?: () => Promise<void> }>;

/** The shared contract every `SwitchStore` adapter must pass. */
export function switchStoreContract(adapter: string, factory: SwitchStoreFactory): void {
  describe(`SwitchStore contract (${adapter})`, () => {
    let store: SwitchStore;
    let close: () => Promise<void>;
    let breakIt: (() => Promise<void>) | undefined;
    let clock: ReturnType<typeof testClock>;

    beforeEach(async () => {
      clock = testClock();
      ({ store, close, breakIt } = await factory(clock));
    });
    afterEach(async () => {
      await close();
    });

    it('starts empty; a stop is stored with who, why and when', async () => {
      expect(await store.list()).toEqual([]);
      const r = await store.stop({ scope: 'agent', id: 'support-bot', reason: 'leaking tickets', by: 'admin' });
      expect(r).toEqual({
        scope: 'agent',
        id: 'support-bot',
        stopped: true,
        reason: 'leaking tickets',
        by: 'admin',
        at: expect.stringMatching(/^2030-01-01T00:00:00\.\d{3}Z$/),
      });
      expect(await store.get('agent', 'support-bot')).toEqual(r);
      expect(await store.get('tool', 'support-bot')).toBeUndefined();
      expect(await store.list()).toEqual([r]);
    });

    it('a second stop replaces the reason; lists by scope then id', async () => {
      await store.stop({ scope: 'tool', id: 'github/create_issue', reason: 'spam', by: 'admin' });
      await store.stop({ scope: 'agent', id: 'b', reason: 'first', by: 'admin' });
      await store.stop({ scope: 'agent', id: 'a', reason: 'x', by: 'alice' });
      await store.stop({ scope: 'all', id: '*', reason: 'incident 12', by: 'admin' });
      await store.stop({ scope: 'server', id: 'github', reason: 'outage', by: 'admin' });
      clock.advance(1000);
      const again = await store.stop({ scope: 'agent', id: 'b', reason: 'second', by: 'bob' });
      expect(again).toMatchObject({ reason: 'second', by: 'bob', at: expect.stringMatching(/^2030-01-01T00:00:01\.\d{3}Z$/) });
      const listed = await store.list();
      expect(listed.map((r) => `${r.scope}:${r.id}`)).toEqual(['all:*', 'agent:a', 'agent:b', 'tool:github/create_issue', 'server:github']);
      expect(listed.find((r) => r.id === 'b')?.reason).toBe('second');
    });

    it('resume removes the switch and answers it; resuming what is not stopped answers undefined', async () => {
      const r = await store.stop({ scope: 'server', id: 'github', reason: 'outage', by: 'admin' });
      expect(await store.resume('server', 'github')).toEqual(r);
      expect(await store.resume('server', 'github')).toBeUndefined();
      expect(await store.get('server', 'github')).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('scopes are distinct: the same id under two scopes is two switches', async () => {
      await store.stop({ scope: 'agent', id: 'github', reason: 'a', by: 'admin' });
      await store.stop({ scope: 'server', id: 'github', reason: 's', by: 'admin' });
      await store.resume('agent', 'github');
      expect((await store.list()).map((r) => r.scope)).toEqual(['server']);
    });

    it('a store that cannot be read rejects (never answers "nothing is stopped")', async (ctx) => {
      if (!breakIt) return ctx.skip();
      await store.stop({ scope: 'all', id: '*', reason: 'incident', by: 'admin' });
      await breakIt();
      await expect(store.list()).rejects.toMatchObject({ code: 'unavailable' });
    });
  });
}
