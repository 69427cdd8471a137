import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus, LeaseStore } from '../ports.ts';

/** The shared contract every `LeaseStore` adapter must pass (real time: TTLs of a few hundred ms). */
export function leaseStoreContract(adapter: string, factory: () => Promise<LeaseStore>): void {
  describe(`LeaseStore contract (${adapter})`, () => {
    let leases: LeaseStore;
    beforeEach(async () => {
      leases = await factory();
    });
    afterEach(async () => {
      await leases.close();
    });

    it('answers expired for a lease never renewed', async () => {
      expect(await leases.get('agent', 'never')).toEqual({ state: 'expired' });
    });

    it('keeps a renewed lease alive until its TTL passes', async () => {
      const before = Date.now();
      const renewed = await leases.renew('agent', 'bot', 250);
      expect(renewed.state).toBe('alive');
      const got = await leases.get('agent', 'bot');
      expect(got.state).toBe('alive');
      const expiresAt = Date.parse(got.expiresAt!);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 100);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 300);
      expect((await leases.get('mcp-server', 'bot')).state).toBe('expired');
      await new Promise((r) => setTimeout(r, 400));
      expect((await leases.get('agent', 'bot')).state).toBe('expired');
    });

    it('extends a lease on renew and forgets it on drop', async () => {
      await leases.renew('agent', 'bot', 200);
      await new Promise((r) => setTimeout(r, 120));
      await leases.renew('agent', 'bot', 200);
      await new Promise((r) => setTimeout(r, 120));
      expect((await leases.get('agent', 'bot')).state).toBe('alive');
      await leases.drop('agent', 'bot');
      expect((await leases.get('agent', 'bot')).state).toBe('expired');
    });
  });
}

function collector() {
  const got: unknown[] = [];
  let wake: (() => void) | undefined;
  return {
    got,
    handler: (payload: unknown) => {
      got.push(payload);
      wake?.();
    },
    async waitFor(n: number, timeoutMs = 2_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
    },
  };
}

/** The shared contract every `EventBus` adapter must pass. `pair` yields two buses that share a medium. */
export function eventBusContract(adapter: string, pair: () => Promise<[EventBus, EventBus]>): void {
  describe(`EventBus contract (${adapter})`, () => {
    let a: EventBus;
    let b: EventBus;
    beforeEach(async () => {
      [a, b] = await pair();
    });
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });

    it('delivers a publication to local subscribers of the topic only, once', async () => {
      const one = collector();
      const other = collector();
      a.subscribe('registry.changed', one.handler);
      a.subscribe('policy.changed', other.handler);
      await a.publish('registry.changed', { kind: 'agent', id: 'bot' });
      await one.waitFor(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(one.got).toEqual([{ kind: 'agent', id: 'bot' }]);
      expect(other.got).toEqual([]);
    });

    it('delivers to subscribers of the other instance', async () => {
      const remote = collector();
      b.subscribe('goal.changed', remote.handler);
      await new Promise((r) => setTimeout(r, 100));
      await a.publish('goal.changed', { id: 'g1', status: 'paused' });
      await remote.waitFor(1);
      expect(remote.got).toEqual([{ id: 'g1', status: 'paused' }]);
    });

    it('stops delivering after unsubscribe and survives a throwing handler', async () => {
      const kept = collector();
      const dropped = collector();
      a.subscribe('delegation.revoked', () => {
        throw new Error('boom');
      });
      a.subscribe('delegation.revoked', kept.handler);
      const off = a.subscribe('delegation.revoked', dropped.handler);
      off();
      off();
      await a.publish('delegation.revoked', { ids: ['g1'] });
      await kept.waitFor(1);
      await new Promise((r) => setTimeout(r, 100));
      expect(kept.got).toHaveLength(1);
      expect(dropped.got).toHaveLength(0);
    });
  });
}
