import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretsBroker } from './broker.ts';
import { MemorySecretStore } from './memory/memory-secret-store.ts';
import type { SecretStore } from './ports.ts';
import { loadSecretsKey } from './open-secret-store.ts';
import { parseSecretsConfig } from './config.ts';

async function seeded(): Promise<SecretStore> {
  const store = new MemorySecretStore({ key: randomBytes(32) });
  await store.put('openai', 'sk-base-000000');
  await store.put('openai@agent:bot', 'sk-agent-bot-1111');
  await store.put('openai@goal:g1', 'sk-goal-g1-2222');
  await store.put('team-key', 'sk-team-333333');
  return store;
}

describe('SecretsBroker', () => {
  it('resolves goal, then agent, then base by naming convention', async () => {
    const broker = new SecretsBroker(await seeded());
    expect(await broker.resolve('openai')).toEqual({ name: 'openai', value: 'sk-base-000000' });
    expect(await broker.resolve('openai', { agent: 'bot' })).toEqual({ name: 'openai@agent:bot', value: 'sk-agent-bot-1111' });
    expect(await broker.resolve('openai', { agent: 'bot', goal: 'g1' })).toEqual({ name: 'openai@goal:g1', value: 'sk-goal-g1-2222' });
    expect(await broker.resolve('openai', { agent: 'other', goal: 'g2' })).toEqual({ name: 'openai', value: 'sk-base-000000' });
    expect(await broker.resolve('missing')).toBeUndefined();
  });

  it('prefers explicit overrides', async () => {
    const broker = new SecretsBroker(await seeded(), { overrides: { openai: { agents: { other: 'team-key' } } } });
    expect(await broker.resolve('openai', { agent: 'other' })).toEqual({ name: 'team-key', value: 'sk-team-333333' });
  });

  it('feeds the scrubber with every loaded value and lists without values', async () => {
    const broker = new SecretsBroker(await seeded());
    expect(await broker.loadAll()).toBe(4);
    expect(broker.scrubber.scrub('a sk-team-333333 b')).toBe('a [redacted] b');
    expect(JSON.stringify(await broker.list())).not.toContain('sk-');
  });

  it('caches for the ttl and then sees changes', async () => {
    let now = 0;
    const store = await seeded();
    const broker = new SecretsBroker(store, { cacheTtlMs: 1000, now: () => now });
    expect((await broker.resolve('openai'))?.value).toBe('sk-base-000000');
    await store.put('openai', 'sk-rotated-999999');
    expect((await broker.resolve('openai'))?.value).toBe('sk-base-000000');
    now = 2000;
    expect((await broker.resolve('openai'))?.value).toBe('sk-rotated-999999');
    expect(broker.scrubber.contains('sk-base-000000')).toBe(true);
  });

  it('fails with unavailable when the store cannot be read', async () => {
    const store = await seeded();
    const broken: SecretStore = {
      ...store,
      list: () => store.list(),
      put: store.put.bind(store),
      delete: store.delete.bind(store),
      close: store.close.bind(store),
      get: async () => {
        throw new Error('disk gone');
      },
    };
    await expect(new SecretsBroker(broken).resolve('openai')).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('secrets config', () => {
  it('fills defaults and names bad paths', () => {
    expect(parseSecretsConfig({})).toMatchObject({
      store: 'sqlite',
      path: '.argus/argus.db',
      keyEnv: 'ARGUS_SECRETS_KEY',
      cacheTtlMs: 5000,
    });
    expect(() => parseSecretsConfig({ store: 'vault' })).toThrow(
      expect.objectContaining({ errors: [expect.objectContaining({ path: '/store' })] }),
    );
    expect(() => parseSecretsConfig({ bogus: 1 })).toThrow(
      expect.objectContaining({ errors: [expect.objectContaining({ path: '/bogus' })] }),
    );
  });
  it('reads the key from the environment and says which variable is missing', () => {
    const key = randomBytes(32);
    expect(loadSecretsKey({ keyEnv: 'K' }, { K: key.toString('base64') }).equals(key)).toBe(true);
    expect(() => loadSecretsKey({ keyEnv: 'K' }, {})).toThrow(/`K`/);
  });
});
