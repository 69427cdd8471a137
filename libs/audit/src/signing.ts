/**
 * The checkpoint key of a writer and where its signed head goes, resolved from the configuration:
 * the configured key, else a key file beside the data, generated once across processes.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '@argus/platform';
import { loadPrivateKey } from './chain.ts';
import type { AuditConfig } from './config.ts';

/** The checkpoint key and where the signed head goes, resolved from the configuration. */
export interface AuditSigning {
  key?: KeyObject;
  keyPem?: string;
  /** The private key file (generated when it was missing), if the key came from a file. */
  keyFile?: string;
  headFile?: string;
}

/**
 * Resolves the checkpoint key: the configured one, else the key file (default `audit-key` beside the
 * spill directory, i.e. `.argus/audit-key`), generated (Ed25519, mode 0600, its public half in
 * `audit-key.pub`) when missing. The signed head is written to `audit-head.json` beside the key.
 */
export function resolveSigning(cfg: AuditConfig): AuditSigning {
  const s = cfg.signing;
  if (!s || s.enabled === false) return {};
  const keyFile = s.privateKeyFile ?? (s.privateKey ? undefined : join(dirname(cfg.spill.dir), 'audit-key'));
  const headFile = s.headFile ?? (keyFile ? join(dirname(keyFile), 'audit-head.json') : undefined);
  let pem = s.privateKey;
  if (!pem && keyFile) {
    if (!existsSync(keyFile)) generateKeyFile(keyFile);
    try {
      pem = readFileSync(keyFile, 'utf8');
    } catch {
      throw new ConfigError('invalid audit configuration', [{ path: '/signing/privateKeyFile', message: 'cannot be read' }]);
    }
  }
  if (!pem) return {};
  return { key: loadPrivateKey(pem), keyPem: pem, ...(keyFile ? { keyFile } : {}), ...(headFile ? { headFile } : {}) };
}

/**
 * Generates the key file, once across processes: the key is written whole to a private temporary
 * file, then hard-linked into place (atomic, and refused when the name exists). Replicas sharing a
 * data directory that start together all end up reading the one key the first link published.
 */
function generateKeyFile(keyFile: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(keyFile), { recursive: true });
  const tmp = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, keyFile);
    writeFileSync(`${keyFile}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  } catch (err) {
    // Another process published its key first: that one is read.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}
