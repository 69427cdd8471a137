import { describe, expect, it } from 'vitest';
import { ConfigError, silentLogger } from '@argus/platform';
import { loadRegistryConfig } from './config.ts';
import { startRegistry } from './service.ts';

describe('loadRegistryConfig', () => {
  it('applies defaults and env overrides, then freezes', () => {
    const c = loadRegistryConfig({
      ARGUS_STORE_URL: 'sqlite::memory:',
      ARGUS_REDIS_URL: 'redis://127.0.0.1:6379',
      ARGUS_ADMIN_TOKEN: 'admin-token-0123456789',
      PORT: '0',
      ARGUS_SCANNER_TOKENS: 'k8s=scanner-token-0123456789,net=scanner-token-abcdefghij',
    });
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      store: { url: 'sqlite::memory:', redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'argus:' },
      scannerTokens: { k8s: 'scanner-token-0123456789', net: 'scanner-token-abcdefghij' },
      onToolChange: 'pending',
      limits: { maxTools: 256, defaultLeaseTtlMs: 30_000 },
    });
    expect(Object.isFrozen(c.store)).toBe(true);
    expect(loadRegistryConfig({}).store.url).toBe('sqlite:.argus/argus.db');
  });

  it('names the offending path and never echoes a secret', () => {
    try {
      loadRegistryConfig({ PORT: 'eighty', ARGUS_ADMIN_TOKEN: 'hunter2', ARGUS_STORE_URL: 'postgres://u:pw-s3cret@db/x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.errors.map((x) => x.path).sort()).toEqual(['/adminToken', '/port', '/store/url']);
      expect(JSON.stringify({ m: e.message, e: e.errors })).not.toMatch(/hunter2|pw-s3cret/);
    }
    expect(() => loadRegistryConfig({ ARGUS_SCANNER_TOKENS: 'no-equals-sign' })).toThrow(ConfigError);
  });
});

describe('startRegistry', () => {
  it('listens on loopback, answers health and the API, and shuts down', async () => {
    const running = await startRegistry(
      loadRegistryConfig({ ARGUS_STORE_URL: 'sqlite::memory:', ARGUS_ADMIN_TOKEN: 'admin-token-0123456789', PORT: '0' }),
      silentLogger(),
    );
    try {
      expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
      const r = await fetch(`${running.url}/v1/registry/humans`, {
        method: 'POST',
        headers: { authorization: 'Bearer admin-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'alice', email: 'a@example.com' }),
      });
      expect(r.status).toBe(201);
    } finally {
      await running.shutdown.run();
    }
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });
});
