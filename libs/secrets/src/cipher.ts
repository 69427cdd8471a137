import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '@argus/platform';

/** A value sealed with AES-256-GCM: what a store keeps at rest. */
export interface SealedValue {
  /** 12 random bytes, fresh for every seal. */
  iv: Buffer;
  /** The 16-byte GCM authentication tag. */
  tag: Buffer;
  ciphertext: Buffer;
}

/**
 * Parses a 32-byte key written as 64 hex characters or as base64 (standard or url-safe).
 * The key itself never appears in the error message.
 */
export function parseSecretsKey(text: string, source = 'ARGUS_SECRETS_KEY'): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== 32) {
    throw new ConfigError(`secrets key from \`${source}\` must be 32 bytes written as 64 hex characters or base64`, [
      { path: source, message: 'must be 32 bytes (hex or base64)' },
    ]);
  }
  return key;
}

/**
 * AES-256-GCM with a random 12-byte IV per value and the secret's name as additional
 * authenticated data, so a ciphertext copied under another name fails to open.
 */
export class SecretCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new ConfigError('secrets key must be 32 bytes');
    this.#key = Buffer.from(key);
  }

  /** Encrypts `value` bound to `name`. */
  seal(name: string, value: string): SealedValue {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { iv, tag: cipher.getAuthTag(), ciphertext };
  }

  /** Decrypts a value sealed under `name`; throws when the key, the name or the bytes do not match. */
  open(name: string, sealed: SealedValue): string {
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  }
}
