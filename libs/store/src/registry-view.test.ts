import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryEventBus } from './memory/event-bus.ts';
import { MemoryLeaseStore } from './memory/lease-store.ts';
import { openSqlite } from './sqlite/open.ts';
import { RedisEventBus } from './redis/event-bus.ts';
import { RegistryView } from './registry-view.ts';
import { TOPICS, type Agent, type Human, type McpServer, type RegistryStore } from './ports.ts';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from './testing/index.ts';

const prefix = testPrefix();
afterAll(() => deleteKeys(SHARED_REDIS_URL, prefix));

/** Counts store reads so cache hits are visible; `token: false` hides the store's change token (a store that cannot tell). */
function counting(store: RegistryStore, { token = true } = {}) {
  const reads = { n: 0 };
  return {
    reads,
    store: {
      getAgent: (id: string) => (reads.n++, store.getAgent(id)),
      getMcpServer: (id: string) => (reads.n++, store.getMcpServer(id)),
      getHuman: (id: string) => (reads.n++, store.getHuman(id)),
      ...(token ? { changeToken: () => store.changeToken!() } : {}),
    },
  };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 2_000): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - start;
}

describe('RegistryView', () => {
  it('serves repeated reads from the cache and evicts on registry.changed', async () => {
    const s = openSqlite(':memory:');
    const events = new MemoryEventBus();
    const { store, reads } = counting(s.registry);
    const view = new RegistryView({ store, leases: new MemoryLeaseStore(), events });
    await s.registry.createAgent({ id: 'bot', name: 'Bot' }, 'admin');
    expect((await view.getAgent('bot'))?.trust).toBe('discovered');
    expect((await view.getAgent('bot'))?.trust).toBe('discovered');
    expect(reads.n).toBe(1);
    await s.registry.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'x' });
    await events.publish(TOPICS.registryChanged, { kind: 'agent', id: 'bot', change: 'trust', trust: 'quarantined' });
    await new Promise((r) => setTimeout(r, 0));
    expect((await view.getAgent('bot'))?.trust).toBe('quarantined');
    expect(reads.n).toBe(2);
    await events.publish(TOPICS.registryChanged, { kind: 'agent', id: 'bot', change: 'seen' });
    await new Promise((r) => setTimeout(r, 0));
    await view.getAgent('bot');
    expect(reads.n).toBe(2);
    expect(view.stats()).toMatchObject({ hits: 2, misses: 2 });
    view.close();
    s.db.close();
  });

  it('forgets everything when the bus reports that events may have been missed', async () => {
    const s = openSqlite(':memory:');
    const bus = new MemoryEventBus();
    let resync: (() => void | Promise<void>) | undefined;
    const events = Object.assign(bus, { onResync: (h: () => void | Promise<void>) => ((resync = h), () => (resync = undefined)) });
    const { store, reads } = counting(s.registry);
    const view = new RegistryView({ store, leases: new MemoryLeaseStore(), events });
    await s.registry.createAgent({ id: 'bot', name: 'Bot' }, 'admin');
    await s.registry.createHuman({ id: 'alice', email: 'alice@example.com' });
    await view.getAgent('bot');
    await view.getHuman('alice');
    // The change happened elsewhere and its event was lost: the cache still answers the old state.
    await s.registry.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'x' });
    expect((await view.getAgent('bot'))?.trust).toBe('discovered');
    expect(resync).toBeTypeOf('function');
    await resync!();
    expect((await view.getAgent('bot'))?.trust).toBe('quarantined');
    await view.getHuman('alice');
    expect(reads.n).toBe(4);
    view.close();
    expect(resync).toBeUndefined();
    s.db.close();
  });

  it('warms its agents from the store page by page, so the first decision for each is no store read', async () => {
    const s = openSqlite(':memory:');
    for (let i = 0; i < 1_203; i++) await s.registry.createAgent({ id: `agent-${i}`, name: `A${i}` }, 'admin');
    const { store, reads } = counting(s.registry);
    const events = new MemoryEventBus();
    const view = new RegistryView({ store, leases: new MemoryLeaseStore(), events, maxEntries: { agent: 600 } });
    const pages: string[][] = [];
    const loaded = await view.warm(async (cursor) => {
      const page = await s.registry.listAgents({ limit: 500, ...(cursor !== undefined ? { cursor } : {}) });
      pages.push(page.items.map((a) => a.id));
      // An agent changed (its event handled) while the second page was being read: that page is skipped.
      if (pages.length === 2) await events.publish(TOPICS.registryChanged, { kind: 'agent', id: pages[0]![0]!, change: 'updated' });
      return page;
    });
    expect(pages.map((p) => p.length)).toEqual([500, 500, 203]);
    // Page 1 whole (one of it since invalidated), page 2 skipped, page 3 up to the bound (600 held).
    expect(loaded).toBe(601);
    expect(view.stats().size).toBe(600);
    for (const id of [pages[0]![1]!, pages[0]![499]!, pages[2]![0]!, pages[2]![99]!]) expect((await view.getAgent(id))?.id).toBe(id);
    expect(reads.n).toBe(0);
    // Skipped, past the bound, or invalidated once kept: read as usual.
    for (const id of [pages[1]![0]!, pages[2]![101]!, pages[0]![0]!]) await view.getAgent(id);
    expect(reads.n).toBe(3);
    view.close();
    s.db.close();
  });

  it('caches absence, honours the TTL and bounds each kind on its own', async () => {
    const s = openSqlite(':memory:');
    let now = 0;
    const { store, reads } = counting(s.registry, { token: false });
    const view = new RegistryView({ store, leases: new MemoryLeaseStore(), ttlMs: 1_000, maxEntries: 2, clock: () => new Date(now) });
    expect(await view.getHuman('alice')).toBeUndefined();
    expect(await view.getHuman('alice')).toBeUndefined();
    expect(reads.n).toBe(1);
    now += 1_001;
    await view.getHuman('alice');
    expect(reads.n).toBe(2);
    for (const id of ['a', 'b', 'c']) await view.getAgent(id);
    await view.getMcpServer('m');
    expect(view.stats()).toMatchObject({ size: 4, evictions: 1 });
    // Agents filling their bound pushed out the oldest agent, not the human.
    await view.getHuman('alice');
    expect(reads.n).toBe(6);
    await view.getAgent('a');
    expect(reads.n).toBe(7);
    view.close();
    s.db.close();
  });

  it('holds a working set of agents beside the humans and servers every decision reads, with the default bounds', async () => {
    const agents = 12_000;
    const loads = { agent: 0, human: 0, server: 0 };
    const store = {
      getAgent: async (id: string) => (loads.agent++, { id, trust: 'trusted', owner: `owner-${id.length % 97}` } as Agent),
      getHuman: async (id: string) => (loads.human++, { id, email: `${id}@example.com`, roles: [] } as unknown as Human),
      getMcpServer: async (id: string) => (loads.server++, { id, trust: 'trusted', tools: [] } as unknown as McpServer),
    };
    const view = new RegistryView({ store, leases: new MemoryLeaseStore() });
    // The varied benchmark's pattern: agents in turn, each with its owner and the one server.
    const cycle = async () => {
      for (let i = 0; i < agents; i++) {
        await view.getAgent(`agent-${i}`);
        await view.getHuman(`owner-${i % 97}`);
        await view.getMcpServer('tools');
      }
    };
    await cycle();
    expect(loads).toEqual({ agent: agents, human: 97, server: 1 });
    await cycle();
    expect(loads).toEqual({ agent: agents, human: 97, server: 1 });
    expect(view.stats()).toMatchObject({ misses: agents + 98, evictions: 0 });
    view.close();
  });

  it('never serves a cached record after the stored one changed, with an event or past the TTL', async () => {
    const s = openSqlite(':memory:');
    const events = new MemoryEventBus();
    let now = 0;
    const { store, reads } = counting(s.registry);
    const view = new RegistryView({ store, leases: new MemoryLeaseStore(), events, ttlMs: 1_000, clock: () => new Date(now) });
    const ids = Array.from({ length: 20 }, (_, i) => `bot-${i}`);
    for (const id of ids) await s.registry.createAgent({ id, name: id, trust: 'trusted' }, 'admin');
    for (const id of ids) expect((await view.getAgent(id))?.trust).toBe('trusted');
    expect(reads.n).toBe(ids.length);
    // Revoked through the registry (which publishes registry.changed): the very next read sees it.
    for (const [i, id] of ids.entries()) {
      if (i % 2 === 1) continue;
      await s.registry.setTrust('agent', id, { to: 'revoked', by: 'sec', reason: 'incident' });
      await events.publish(TOPICS.registryChanged, { kind: 'agent', id, change: 'trust', trust: 'revoked' });
    }
    for (const [i, id] of ids.entries()) expect((await view.getAgent(id))?.trust).toBe(i % 2 === 0 ? 'revoked' : 'trusted');
    expect(reads.n).toBe(ids.length + ids.length / 2);
    // Changed by a writer no bus reaches: seen once the TTL has passed, never later.
    await s.registry.updateAgent(ids[1]!, { labels: { clearance: 'high' } });
    expect((await view.getAgent(ids[1]!))?.labels).toEqual({});
    now += 1_001;
    expect((await view.getAgent(ids[1]!))?.labels).toEqual({ clearance: 'high' });
    view.close();
    s.db.close();
  });

  it('never caches a load that raced with an invalidation', async () => {
    let release: (() => void) | undefined;
    const record = { id: 'bot', trust: 'trusted' } as Agent;
    const store = {
      getAgent: async () => {
        const snapshot = { ...record };
        await new Promise<void>((r) => (release = r));
        return snapshot;
      },
      getMcpServer: async () => undefined,
      getHuman: async () => undefined,
    };
    const view = new RegistryView({ store, leases: new MemoryLeaseStore() });
    const stale = view.getAgent('bot');
    await until(() => release !== undefined);
    record.trust = 'revoked';
    view.invalidate('agent', 'bot');
    release!();
    expect((await stale)?.trust).toBe('trusted');
    release = undefined;
    const fresh = view.getAgent('bot');
    await until(() => release !== undefined);
    release!();
    expect((await fresh)?.trust).toBe('revoked');
  });

  it('reads lease states through, unknown included', async () => {
    const leases = new MemoryLeaseStore();
    const view = new RegistryView({ store: openSqlite(':memory:').registry, leases });
    expect((await view.leaseState('agent', 'bot')).state).toBe('expired');
    await leases.renew('agent', 'bot', 10_000);
    expect((await view.leaseState('agent', 'bot')).state).toBe('alive');
    const down = new RegistryView({
      store: openSqlite(':memory:').registry,
      leases: { get: async () => ({ state: 'unknown' }) } as unknown as MemoryLeaseStore,
    });
    expect(await down.leaseState('agent', 'bot')).toEqual({ state: 'unknown' });
  });

  it('sees a quarantine made through another process bus within a second', async () => {
    const s = openSqlite(':memory:');
    const writerBus = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
    const readerBus = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
    await Promise.all([writerBus.ready(), readerBus.ready()]);
    const view = new RegistryView({ store: s.registry, leases: new MemoryLeaseStore(), events: readerBus, ttlMs: 60_000 });
    await s.registry.createAgent({ id: 'bot', name: 'Bot', trust: 'pending' }, 'admin');
    await s.registry.setTrust('agent', 'bot', { to: 'trusted', by: 'admin', reason: 'ok' });
    expect((await view.getAgent('bot'))?.trust).toBe('trusted');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s.registry.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'incident' });
    await writerBus.publish(TOPICS.registryChanged, { kind: 'agent', id: 'bot', change: 'trust', trust: 'quarantined' });
    await until(async () => (await view.getAgent('bot'))?.trust === 'quarantined');
    const delay = Date.now() - t0;
    console.log(`[registry view] quarantine visible through the Redis bus after ${delay} ms`);
    expect(delay).toBeLessThan(1_000);
    view.close();
    await Promise.all([writerBus.close(), readerBus.close()]);
    s.db.close();
  });

  describe('past the TTL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-view-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('renews an entry without a read while nothing was written, and reads again after any write, even one whose event was lost', async () => {
      let now = 1_000_000;
      const file = join(dir, `renew-${Math.random().toString(36).slice(2)}.db`);
      const s = openSqlite(file);
      const { store, reads } = counting(s.registry);
      const view = new RegistryView({ store, leases: new MemoryLeaseStore(), ttlMs: 1_000, clock: () => new Date(now) });
      await s.registry.createAgent({ id: 'bot', name: 'Bot' }, 'admin');
      await s.registry.createHuman({ id: 'alice', email: 'alice@example.com' });
      expect((await view.getAgent('bot'))?.trust).toBe('discovered');
      await view.getHuman('alice');
      expect(reads.n).toBe(2);

      // Other users of the connection (counters, lastSeen) do not count as record writes.
      s.db.exec('CREATE TABLE IF NOT EXISTS scratch (n INTEGER); INSERT INTO scratch VALUES (1)');
      await s.registry.markSeen(['bot'], new Date(now).toISOString());
      now += 5_000;
      expect((await view.getAgent('bot'))?.trust).toBe('discovered');
      expect(reads.n).toBe(2);
      expect(view.stats()).toMatchObject({ renewals: 1 });

      // A write through the store with no registry.changed event (a lost event): the next expiry reads it.
      await s.registry.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'x' });
      expect((await view.getAgent('bot'))?.trust).toBe('discovered'); // within the renewed TTL, as before
      now += 1_500;
      expect((await view.getAgent('bot'))?.trust).toBe('quarantined');
      expect((await view.getHuman('alice'))?.id).toBe('alice');
      expect(reads.n).toBe(4);
      view.close();
      s.db.close();
    });

    it('reads again after another connection to the file wrote (another process, the CLI)', async () => {
      let now = 1_000_000;
      const file = join(dir, `other-${Math.random().toString(36).slice(2)}.db`);
      const s = openSqlite(file);
      const other = openSqlite(file);
      const { store, reads } = counting(s.registry);
      const view = new RegistryView({ store, leases: new MemoryLeaseStore(), ttlMs: 1_000, clock: () => new Date(now) });
      await s.registry.createAgent({ id: 'bot', name: 'Bot' }, 'admin');
      expect((await view.getAgent('bot'))?.trust).toBe('discovered');
      await other.registry.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'x' });
      now += 1_500;
      expect((await view.getAgent('bot'))?.trust).toBe('quarantined');
      expect(reads.n).toBe(2);
      now += 1_500;
      await view.getAgent('bot');
      expect(reads.n).toBe(2);
      view.close();
      other.db.close();
      s.db.close();
    });
  });
});
