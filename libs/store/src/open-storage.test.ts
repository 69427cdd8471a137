import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { openEventBus, openLeaseStore, openStorage, parseStoreUrl } from './open-storage.ts';
import { MemoryEventBus } from './memory/event-bus.ts';
import { MemoryLeaseStore } from './memory/lease-store.ts';
import { RedisEventBus } from './redis/event-bus.ts';
import { RedisLeaseStore } from './redis/lease-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStorage', () => {
  it('parses store URLs and refuses unknown schemes without echoing the URL', () => {
    expect(parseStoreUrl('sqlite:.argus/argus.db')).toEqual({ backend: 'sqlite', path: '.argus/argus.db' });
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ backend: 'sqlite', path: ':memory:' });
    expect(parseStoreUrl('sqlite:///tmp/x.db')).toEqual({ backend: 'sqlite', path: '/tmp/x.db' });
    expect(parseStoreUrl('mongodb://u:p@h:27017/argus')).toEqual({ backend: 'mongo', url: 'mongodb://u:p@h:27017/argus' });
    expect(() => parseStoreUrl('sqlite:')).toThrow(ConfigError);
    try {
      parseStoreUrl('postgres://user:hunter2@db/argus');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect(JSON.stringify({ m: (err as Error).message, e: (err as ConfigError).errors })).not.toContain('hunter2');
      expect((err as ConfigError).errors[0]?.path).toBe('/store/url');
    }
  });

  it('opens SQLite files (creating the folder) and in-memory databases', async () => {
    const s = await openStorage(`sqlite:${join(dir, 'nested', 'argus.db')}`);
    expect(s.backend).toBe('sqlite');
    expect(await s.ping()).toBe(true);
    await s.registry.createHuman({ id: 'alice', email: 'a@x.io' });
    expect((await s.registry.getHuman('alice'))?.email).toBe('a@x.io');
    await s.close();
    expect(await s.ping()).toBe(false);
    const m = await openStorage('sqlite::memory:');
    expect((await m.registry.listAgents()).items).toEqual([]);
    await m.close();
  });

  it('fails with unavailable when MongoDB cannot be reached', async () => {
    await expect(openStorage('mongodb://127.0.0.1:1/argus', { mongo: { serverSelectionTimeoutMs: 300 } })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('picks in-process or Redis leases and buses by option', async () => {
    const leases = openLeaseStore();
    const bus = openEventBus();
    expect(leases).toBeInstanceOf(MemoryLeaseStore);
    expect(bus).toBeInstanceOf(MemoryEventBus);
    const rl = openLeaseStore({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'argus-test-open:' });
    const rb = openEventBus({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'argus-test-open:' });
    expect(rl).toBeInstanceOf(RedisLeaseStore);
    expect(rb).toBeInstanceOf(RedisEventBus);
    await Promise.all([leases.close(), bus.close(), rl.close(), rb.close()]);
  });
});
