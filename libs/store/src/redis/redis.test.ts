import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, eventBusContract, leaseStoreContract, PrivateRedis, SHARED_REDIS_URL, testPrefix } from '../testing/index.ts';
import { RedisEventBus } from './event-bus.ts';
import { RedisLeaseStore } from './lease-store.ts';

const prefix = testPrefix();
afterAll(async () => {
  await deleteKeys(SHARED_REDIS_URL, prefix);
});

leaseStoreContract('redis', async () => new RedisLeaseStore({ url: SHARED_REDIS_URL, prefix }));
eventBusContract('redis', async () => {
  const a = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
  const b = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
  await Promise.all([a.ready(), b.ready()]);
  return [a, b];
});

describe('redis leases when Redis goes away', () => {
  let server: PrivateRedis;
  let leases: RedisLeaseStore;
  beforeAll(async () => {
    server = await PrivateRedis.start();
  });
  afterEach(async () => {
    await leases?.close();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers unknown while Redis is down and recovers without a restart', async () => {
    leases = new RedisLeaseStore({ url: server.url, prefix, reconnectMaxDelayMs: 100, commandTimeoutMs: 300 });
    await leases.renew('agent', 'bot', 60_000);
    expect((await leases.get('agent', 'bot')).state).toBe('alive');

    await server.stop();
    const down = Date.now();
    expect(await leases.get('agent', 'bot')).toEqual({ state: 'unknown' });
    expect(Date.now() - down).toBeLessThan(1_000);
    await expect(leases.renew('agent', 'bot', 60_000)).rejects.toMatchObject({ code: 'unavailable' });

    await server.start();
    const deadline = Date.now() + 5_000;
    let state = await leases.get('agent', 'bot');
    while (state.state === 'unknown' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      state = await leases.get('agent', 'bot');
    }
    // The private server keeps nothing across a restart: the lease is gone, and the store says so.
    expect(state.state).toBe('expired');
    await leases.renew('agent', 'bot', 60_000);
    expect((await leases.get('agent', 'bot')).state).toBe('alive');
  });

  it('answers unknown for a port where nothing listens', async () => {
    leases = new RedisLeaseStore({
      url: 'redis://127.0.0.1:1',
      prefix,
      reconnectMaxDelayMs: 100,
      commandTimeoutMs: 200,
      connectTimeoutMs: 200,
    });
    expect(await leases.get('agent', 'bot')).toEqual({ state: 'unknown' });
  });
});

describe('redis event bus across processes', () => {
  it('propagates between two instances and reports the delay', async () => {
    const a = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
    const b = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
    await Promise.all([a.ready(), b.ready()]);
    const delays: number[] = [];
    let resolveNext: ((n: number) => void) | undefined;
    b.subscribe('registry.changed', (p) => resolveNext?.(Date.now() - (p as { sent: number }).sent));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) {
      const got = new Promise<number>((resolve) => (resolveNext = resolve));
      await a.publish('registry.changed', { kind: 'agent', id: 'bot', change: 'trust', sent: Date.now() });
      delays.push(await got);
    }
    delays.sort((x, y) => x - y);
    const median = delays[Math.floor(delays.length / 2)]!;
    console.log(`[redis event bus] cross-instance delay over ${delays.length} messages: median ${median} ms, max ${delays.at(-1)} ms`);
    expect(delays.at(-1)!).toBeLessThan(1_000);
    await a.close();
    await b.close();
  });

  it('delivers locally while Redis is down and rejects the remote leg', async () => {
    const bus = new RedisEventBus({ url: 'redis://127.0.0.1:1', prefix, reconnectMaxDelayMs: 100, connectTimeoutMs: 200 });
    const got: unknown[] = [];
    bus.subscribe('registry.changed', (p) => void got.push(p));
    await expect(bus.publish('registry.changed', { id: 'x' })).rejects.toMatchObject({ code: 'unavailable' });
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([{ id: 'x' }]);
    await bus.close();
  });

  it('subscribes on a connection that is not ready yet, re-subscribes after Redis restarts, and asks for a resync', async () => {
    const server = await PrivateRedis.start();
    const options = { url: server.url, prefix, reconnectMaxDelayMs: 50, connectTimeoutMs: 500 };
    // Subscribed before any connection is ready: the subscription is sent once it is.
    const listener = new RedisEventBus(options);
    const got: string[] = [];
    let resyncs = 0;
    listener.subscribe('registry.changed', (p) => void got.push((p as { id: string }).id));
    listener.subscribe('policy.changed', (p) => void got.push(`policy:${(p as { version: string }).version}`));
    listener.onResync(() => void resyncs++);
    const sender = new RedisEventBus(options);
    try {
      await Promise.all([listener.ready(), sender.ready()]);
      await sender.publish('registry.changed', { kind: 'agent', id: 'before' });
      await sender.publish('policy.changed', { version: 'v1' });
      await waitFor(() => got.length === 2);
      expect(got).toEqual(['before', 'policy:v1']);
      expect(resyncs).toBe(0);

      await server.stop();
      await server.start();
      // Messages published while the listener was away are gone: the resync handler says so.
      await waitFor(() => resyncs === 1, 10_000);
      await waitFor(async () => {
        await sender.publish('registry.changed', { kind: 'agent', id: 'after' }).catch(() => undefined);
        return got.includes('after');
      }, 10_000);
      await sender.publish('policy.changed', { version: 'v2' });
      await waitFor(() => got.includes('policy:v2'));
      expect(resyncs).toBe(1);
    } finally {
      await Promise.all([listener.close(), sender.close()]);
      await server.stop();
    }
  });
});

async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
