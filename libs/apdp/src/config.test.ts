/**
 * The Argus configuration file as its sections: the composition matches the schema, every
 * environment override of every section is in the one table with the precedence default < file <
 * environment < flags, and each section's problems are reported at load, all at once.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { describeConfigFile } from '@argus/platform/testing/config-file';
import { ARGUS_CONFIG_FILE, ARGUS_SECTIONS, CONFIG_SCHEMA_ID } from './config.ts';

const SCHEMA = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../schemas/config/argus.schema.json'), 'utf8')) as {
  $id: string;
  properties: Record<string, { $ref?: string }>;
};

describe('the Argus configuration file', () => {
  it('holds exactly the sections of schemas/config/argus.schema.json, each validated by the schema the file refers to', () => {
    expect(SCHEMA.$id).toBe(CONFIG_SCHEMA_ID);
    const keys = Object.keys(SCHEMA.properties).filter((k) => k !== '$schema');
    expect(Object.keys(ARGUS_SECTIONS).sort()).toEqual(keys.sort());
    for (const [key, section] of Object.entries(ARGUS_SECTIONS)) {
      expect(section.key).toBe(key);
      expect(SCHEMA.properties[key]!.$ref, key).toBe(section.schemaId);
    }
  });

  it('loads every section typed, defaulted and frozen; the optional ones stay absent', () => {
    const c = ARGUS_CONFIG_FILE.load({ env: {} });
    expect(c.server).toMatchObject({ port: 8181, maxBodyBytes: 1048576, defaultDecision: 'argus/allow' });
    expect(c.store.url).toBe('sqlite:.argus/argus.db');
    expect(c.registry).toEqual({ requireRegistered: false, trafficLeaseTtlMs: 300000 });
    expect(c.audit.writerId).toMatch(/^[A-Za-z0-9_.:-]+$/);
    expect(c.effects.escalation.queueName).toBe('argus-escalations');
    expect(c.proxy).toBeUndefined();
    expect(Object.isFrozen(c.effects.approvals)).toBe(true);
  });

  it('is, with nothing set, each section’s defaults', () => {
    const c = ARGUS_CONFIG_FILE.load({ document: {}, env: {} });
    const defaults = Object.entries(ARGUS_SECTIONS)
      .filter(([, s]) => !s.optional)
      .map(([key, s]) => {
        const d = s.defaults();
        return [key, d.ok ? d.value : d.errors];
      });
    expect(c).toEqual(Object.fromEntries(defaults));
  });

  it('reads a variable as its key’s type: an all-digit token stays a string, a port is a number', () => {
    const c = ARGUS_CONFIG_FILE.load({
      env: { ARGUS_ADMIN_TOKEN: '12345678901234567890', ARGUS_REDIS_PREFIX: '2024', ARGUS_PORT: '8282' },
    });
    expect(c.auth.adminToken).toBe('12345678901234567890');
    expect(c.store.redisPrefix).toBe('2024');
    expect(c.server.port).toBe(8282);
  });

  it('parses the effects section once, at load: its overrides and its quota checks apply there', () => {
    const c = ARGUS_CONFIG_FILE.load({
      document: { effects: { quotas: { rules: [{ name: 'q', key: ['human'], window: '1h', limit: 3 }] } } },
      env: { ARGUS_ESCALATION_WEBHOOK_URL: 'https://hooks.example/argus', ARGUS_ESCALATION_SECRET: 'escalation-secret-0123456789' },
    });
    expect(c.effects.escalation).toMatchObject({ webhookUrl: 'https://hooks.example/argus', secret: 'escalation-secret-0123456789' });
    const e = (() => {
      try {
        ARGUS_CONFIG_FILE.load({ document: { effects: { quotas: { rules: [{ name: 'q', key: ['human'], window: '32d' }] } } }, env: {} });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).errors).toEqual([{ path: '/effects/quotas/rules/0/window', message: 'must be between 1s and 31d' }]);
  });

  it('names every bad path of every section in one ConfigError: unknown keys, wrong types, rules beyond the schema', () => {
    try {
      ARGUS_CONFIG_FILE.load({
        document: {
          server: { port: 'eighty', colour: 'blue' },
          policy: { watch: 'yes' },
          store: { url: 'postgres://u:pw-s3cret@db/x' },
          audit: { retry: { initialBackoffMs: 5000, maxBackoffMs: 1000 } },
          proxy: { upstreams: 'none' },
          logs: {},
        },
        env: { ARGUS_PORT: '80x' },
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.errors.map((x) => x.path).sort()).toEqual(
        [
          '/audit/retry/maxBackoffMs',
          '/logs',
          '/policy/watch',
          '/proxy/upstreams',
          '/server/colour',
          '/server/port',
          '/server/port',
          '/store/url',
        ].sort(),
      );
      expect(e.errors).toContainEqual({ path: '/server/port', message: 'ARGUS_PORT must be an integer' });
      expect(JSON.stringify({ m: e.message, e: e.errors })).not.toMatch(/pw-s3cret|80x/);
    }
  });
});

describeConfigFile('the Argus configuration file', ARGUS_CONFIG_FILE, {
  // A webhook needs its secret (dependentRequired): the file always has one.
  base: { effects: { escalation: { secret: 'base-escalation-secret-0123' } } },
  samples: {
    ARGUS_HOST: { file: '0.0.0.0', env: '127.0.0.2', parsed: '127.0.0.2' },
    ARGUS_PORT: { file: 9000, env: '9100', parsed: 9100 },
    ARGUS_DECISION_TIMEOUT_MS: { file: 250, env: '750', parsed: 750 },
    ARGUS_POLICY_DIR: { file: '/etc/argus/cedar', env: '/srv/cedar', parsed: '/srv/cedar' },
    ARGUS_DECISION_MEMO: { file: 100, env: '5000', parsed: 5000 },
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
    ARGUS_AUDIT_ENABLED: { file: false, env: 'true', parsed: true },
    ARGUS_AUDIT_DURABILITY: { file: 'async', env: 'strict', parsed: 'strict' },
    ARGUS_LOG_LEVEL: { file: 'warn', env: 'debug', parsed: 'debug' },
    ARGUS_ESCALATION_WEBHOOK_URL: { file: 'https://a.example/hook', env: 'https://b.example/hook', parsed: 'https://b.example/hook' },
    ARGUS_ESCALATION_SECRET: {
      file: 'file-escalation-secret-0123',
      env: 'env-escalation-secret-0123',
      parsed: 'env-escalation-secret-0123',
    },
  },
});
