import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_OVERRIDES, loadConfig, redactConfig } from './config.ts';
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
    const c = loadConfig<Cfg>({
      schemaId,
      env: { ARGUS_ADMIN_TOKEN: 'a-very-secret-admin-token', ARGUS_STORE_URL: 'mongodb://argus:hunter2@db:27017/argus' },
    });
    const shown = JSON.stringify(redactConfig(c));
    expect(shown).not.toContain('a-very-secret-admin-token');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('mongodb://argus:[redacted]@db:27017/argus');
  });
});

/** Two valid values per environment override (as the environment spells them, and as the config holds them). */
const SAMPLES: Record<string, { file: unknown; env: string; parsed: unknown }> = {
  ARGUS_HOST: { file: '0.0.0.0', env: '127.0.0.2', parsed: '127.0.0.2' },
  ARGUS_PORT: { file: 9000, env: '9100', parsed: 9100 },
  ARGUS_POLICY_DIR: { file: '/etc/argus/cedar', env: '/srv/cedar', parsed: '/srv/cedar' },
  ARGUS_ADMIN_TOKEN: { file: 'file-admin-token-0123456789', env: 'env-admin-token-0123456789', parsed: 'env-admin-token-0123456789' },
  ARGUS_JWKS_URL: {
    file: 'https://idp.example/jwks.json',
    env: 'https://other.example/jwks.json',
    parsed: 'https://other.example/jwks.json',
  },
  ARGUS_AUTH_DECISIONS: { file: 'open', env: 'required', parsed: 'required' },
  ARGUS_PROXY_SERVICE_TOKEN: {
    file: 'file-proxy-token-0123456789',
    env: 'env-proxy-token-0123456789',
    parsed: 'env-proxy-token-0123456789',
  },
  ARGUS_STORE_URL: { file: 'sqlite:/data/a.db', env: 'sqlite:/data/b.db', parsed: 'sqlite:/data/b.db' },
  ARGUS_REDIS_URL: { file: 'redis://a:6379', env: 'redis://b:6379', parsed: 'redis://b:6379' },
  ARGUS_REDIS_PREFIX: { file: 'file:', env: 'env:', parsed: 'env:' },
  ARGUS_LOG_LEVEL: { file: 'warn', env: 'debug', parsed: 'debug' },
  ARGUS_DECISION_TIMEOUT_MS: { file: 250, env: '750', parsed: 750 },
  ARGUS_AUDIT_ENABLED: { file: false, env: 'true', parsed: true },
  ARGUS_AUDIT_DURABILITY: { file: 'async', env: 'strict', parsed: 'strict' },
  ARGUS_DECISION_MEMO: { file: 100, env: '5000', parsed: 5000 },
};

function at(doc: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc);
}

function docWith(pointer: string, value: unknown): Record<string, unknown> {
  const keys = pointer.split('/').slice(1);
  const root: Record<string, unknown> = {};
  let node = root;
  for (const k of keys.slice(0, -1)) node = (node[k] = {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return root;
}

describe('precedence, for every environment override: default < file < environment < explicit values (flags)', () => {
  it('has a sample for every override (a new override needs its row here)', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(ENV_OVERRIDES).sort());
  });

  for (const [name, pointer] of Object.entries(ENV_OVERRIDES)) {
    it(`${name} → ${pointer}`, () => {
      const sample = SAMPLES[name]!;
      const dir = mkdtempSync(join(tmpdir(), 'argus-cfg-precedence-'));
      const file = join(dir, 'argus.json');
      writeFileSync(file, JSON.stringify(docWith(pointer, sample.file)));
      const byDefault = at(loadConfig({ schemaId, env: {} }), pointer);
      expect(byDefault).not.toEqual(sample.file);
      expect(at(loadConfig({ schemaId, file, env: {} }), pointer)).toEqual(sample.file);
      expect(at(loadConfig({ schemaId, file, env: { [name]: sample.env } }), pointer)).toEqual(sample.parsed);
      // An empty variable is no override.
      expect(at(loadConfig({ schemaId, file, env: { [name]: '' } }), pointer)).toEqual(sample.file);
      // What a flag sets (`values`) beats all three.
      expect(at(loadConfig({ schemaId, file, env: { [name]: sample.env }, values: { [pointer]: sample.file } }), pointer)).toEqual(
        sample.file,
      );
    });
  }
});
