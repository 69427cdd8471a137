import { describe, expect, it } from 'vitest';
import type { SecretStore } from '../ports.ts';

/**
 * The conformance suite every `SecretStore` adapter must pass. `make` returns a fresh, empty
 * store; `raw` (optional) returns every byte the adapter persisted, to prove no plaintext is kept.
 */
export function secretStoreContract(label: string, make: () => Promise<{ store: SecretStore; raw?: () => Buffer }>): void {
  describe(`SecretStore contract: ${label}`, () => {
    it('puts, gets, lists and deletes', async () => {
      const { store } = await make();
      try {
        expect(await store.get('openai')).toBeUndefined();
        const meta = await store.put('openai', 'sk-live-abcdef123456', { description: 'prod key' });
        expect(meta).toMatchObject({ name: 'openai', version: 1, description: 'prod key' });
        expect(await store.get('openai')).toBe('sk-live-abcdef123456');
        await store.put('anthropic', 'sk-ant-000000');
        const list = await store.list();
        expect(list.map((m) => m.name)).toEqual(['anthropic', 'openai']);
        expect(JSON.stringify(list)).not.toContain('sk-');
        expect(await store.delete('openai')).toBe(true);
        expect(await store.delete('openai')).toBe(false);
        expect(await store.get('openai')).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('replaces a value, bumps the version and keeps the description', async () => {
      const { store } = await make();
      try {
        await store.put('k', 'first-value', { description: 'd' });
        const meta = await store.put('k', 'second-value');
        expect(meta.version).toBe(2);
        expect(meta.description).toBe('d');
        expect(await store.get('k')).toBe('second-value');
      } finally {
        await store.close();
      }
    });

    it('round-trips unicode and empty values', async () => {
      const { store } = await make();
      try {
        await store.put('u', 'pässwörd-🔑');
        await store.put('empty', '');
        expect(await store.get('u')).toBe('pässwörd-🔑');
        expect(await store.get('empty')).toBe('');
      } finally {
        await store.close();
      }
    });

    it('refuses invalid names with the offending path', async () => {
      const { store } = await make();
      try {
        await expect(store.put('../etc', 'x')).rejects.toMatchObject({ code: 'invalid_parameter', errors: [{ path: '/name' }] });
        await expect(store.put('', 'x')).rejects.toMatchObject({ code: 'invalid_parameter' });
      } finally {
        await store.close();
      }
    });

    it('never persists the plaintext', async () => {
      const { store, raw } = await make();
      try {
        const canary = 'canary-plaintext-5f2d9c';
        await store.put('canary', canary);
        if (raw) {
          const bytes = raw();
          expect(bytes.length).toBeGreaterThan(0);
          expect(bytes.includes(Buffer.from(canary))).toBe(false);
          expect(bytes.includes(Buffer.from(canary).toString('base64'))).toBe(false);
        }
        expect(await store.get('canary')).toBe(canary);
      } finally {
        await store.close();
      }
    });
  });
}
