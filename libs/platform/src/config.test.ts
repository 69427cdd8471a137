import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from './config.ts';
import { ConfigError } from './errors.ts';

const schemaId = 'https://argus.dev/schemas/config/argus.json';
type Cfg = { server: { port: number; maxBodyBytes: number }; auth: { adminToken?: string }; store: { url: string } };

describe('loadConfig', () => {
  it('fills every default and freezes the result', () => {
    const c = loadConfig<Cfg>({ schemaId, env: {} });
    expect(c.server).toMatchObject({ port: 8181, maxBodyBytes: 1048576 });
    expect(c.store.url).toBe('sqlite:.argus/argus.db');
    expect(Object.isFrozen(c.server)).toBe(true);
  });

  it('reads YAML, then applies environment overrides on top', () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-cfg-'));
    const file = join(dir, 'argus.yaml');
    writeFileSync(file, 'server:\n  port: 9000\n  maxBodyBytes: 2048\n');
    const c = loadConfig<Cfg>({ schemaId, file, env: { ARGUS_PORT: '9100' } });
    expect(c.server).toMatchObject({ port: 9100, maxBodyBytes: 2048 });
  });

  it('names every offending path and never echoes a secret', () => {
    const secret = 'sk-canary-0123456789-never-print';
    try {
      loadConfig({ schemaId, env: { ARGUS_ADMIN_TOKEN: secret }, values: { '/server/port': 'abc', '/server/nope': 1 } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.errors.map((x) => x.path)).toEqual(expect.arrayContaining(['/server/port', '/server/nope']));
      expect(JSON.stringify({ m: e.message, e: e.errors })).not.toContain(secret);
    }
  });

  it('refuses a file that is not valid YAML without printing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'auth: { adminToken: "sk-canary-xyz" \n');
    expect(() => loadConfig({ schemaId, file, env: {} })).toThrow(/not valid YAML/);
  });

  it('redacts secret-named values and passwords in URLs', () => {
    const c = loadConfig<Cfg>({ schemaId, env: { ARGUS_ADMIN_TOKEN: 'a-very-secret-admin-token', ARGUS_STORE_URL: 'mongodb://argus:hunter2@db:27017/argus' } });
    const shown = JSON.stringify(redactConfig(c));
    expect(shown).not.toContain('a-very-secret-admin-token');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('mongodb://argus:[redacted]@db:27017/argus');
  });
});
