import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretCipher, parseSecretsKey } from './cipher.ts';

describe('SecretCipher', () => {
  const key = randomBytes(32);
  const cipher = new SecretCipher(key);

  it('uses a fresh 12-byte IV for every value', () => {
    const a = cipher.seal('n', 'same-value');
    const b = cipher.seal('n', 'same-value');
    expect(a.iv).toHaveLength(12);
    expect(a.tag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(cipher.open('n', a)).toBe('same-value');
  });

  it('binds the value to its name (AAD)', () => {
    const sealed = cipher.seal('openai', 'sk-123456');
    expect(() => cipher.open('anthropic', sealed)).toThrow();
  });

  it('detects tampering', () => {
    const sealed = cipher.seal('n', 'value-xyz');
    sealed.ciphertext[0] = sealed.ciphertext[0]! ^ 1;
    expect(() => cipher.open('n', sealed)).toThrow();
  });
});

describe('parseSecretsKey', () => {
  const key = randomBytes(32);
  it('accepts hex, base64 and base64url', () => {
    expect(parseSecretsKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseSecretsKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseSecretsKey(key.toString('base64url')).equals(key)).toBe(true);
  });
  it('refuses short keys without echoing them', () => {
    const short = randomBytes(16).toString('hex');
    try {
      parseSecretsKey(short);
      expect.unreachable();
    } catch (err) {
      expect((err as Error & { code: string }).code).toBe('invalid_config');
      expect((err as Error).message).not.toContain(short);
    }
  });
});
