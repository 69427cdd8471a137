import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  authSection,
  composeConfigFile,
  defineSection,
  loggingSection,
  readEnvValue,
  redactConfig,
  standaloneConfigFile,
  withoutEnv,
} from './config.ts';
import { ConfigError } from './errors.ts';
import { describeConfigFile, schemaAt } from './testing/config-file.ts';

const FILE_ID = 'https://argus.dev/schemas/config/argus.json';
/** A file of this library's two sections (the Argus file composes them with every component's). */
const file = composeConfigFile(FILE_ID, { auth: authSection, logging: loggingSection });

function errorsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function tmpFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'argus-cfg-')), name);
  writeFileSync(path, text);
  return path;
}

describe('defineSection', () => {
  it('fills the schema defaults and freezes the value', () => {
    const r = authSection.parse(undefined);
    expect(r).toMatchObject({ ok: true, value: { adminRole: 'argus-admin', decisions: 'required', serviceTokens: {} } });
    expect(r.ok && Object.isFrozen(r.value) && Object.isFrozen(r.value.serviceTokens)).toBe(true);
  });

  it('answers its defaults: the value of an empty section', () => {
    expect(loggingSection.defaults()).toEqual({ ok: true, value: { level: 'info' } });
    expect(authSection.defaults()).toEqual(authSection.parse({}));
  });

  it('never changes what it was given', () => {
    const raw = { level: 'warn' };
    loggingSection.parse(raw);
    expect(raw).toEqual({ level: 'warn' });
    expect(Object.isFrozen(raw)).toBe(false);
  });

  it('runs the checks a schema cannot, after the schema, with pointers relative to the section', () => {
    const section = defineSection<{ level: string }>({
      key: 'logging',
      schemaId: 'https://argus.dev/schemas/config/logging.json',
      check: (v) => (v.level === 'silent' ? [{ path: '/level', message: 'must not be silent here' }] : []),
    });
    expect(section.parse({ level: 'silent' })).toEqual({ ok: false, errors: [{ path: '/level', message: 'must not be silent here' }] });
    expect(section.parse({ level: 'loud' })).toMatchObject({ ok: false, errors: [{ path: '/level' }] });
  });
});

describe('composeConfigFile', () => {
  it('lists every bad path of every section, and unknown top-level keys, in one ConfigError', () => {
    const secret = 'sk-canary-0123456789-never-print';
    const e = errorsOf(() =>
      file.load({ document: { auth: { adminToken: 'short', nope: secret }, logging: { level: 7 }, extra: {} }, env: {} }),
    );
    expect(e.errors.map((x) => x.path).sort()).toEqual(['/auth/adminToken', '/auth/nope', '/extra', '/logging/level']);
    expect(e.message).toMatch(/^invalid configuration: /);
    expect(JSON.stringify({ m: e.message, e: e.errors })).not.toContain(secret);
  });

  it('accepts `$schema` at the top (editors) and fills absent sections from their defaults', () => {
    const c = file.load({ document: { $schema: './argus.schema.json' }, env: {} });
    expect(c.logging.level).toBe('info');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads YAML and JSON files; refuses an unreadable or unparsable file without printing it', () => {
    expect(file.load({ file: tmpFile('a.yaml', 'logging:\n  level: warn\n'), env: {} }).logging.level).toBe('warn');
    expect(file.load({ file: tmpFile('a.json', '{"logging":{"level":"debug"}}'), env: {} }).logging.level).toBe('debug');
    const bad = tmpFile('bad.yaml', 'auth: { adminToken: "sk-canary-xyz" \n');
    const e = errorsOf(() => file.load({ file: bad, env: {} }));
    expect(e.message).toMatch(/not valid YAML/);
    expect(JSON.stringify({ m: e.message, e: e.errors })).not.toContain('sk-canary-xyz');
    expect(() => file.load({ file: join(tmpdir(), 'argus-no-such-file.yaml'), env: {} })).toThrow(/cannot be read/);
    expect(() => file.load({ file: tmpFile('list.yaml', '- 1\n'), env: {} })).toThrow(/must hold an object/);
  });

  it('is the union of the sections’ environment overrides, under their keys', () => {
    expect(file.env).toEqual({
      ARGUS_ADMIN_TOKEN: { pointer: '/auth/adminToken', type: 'string' },
      ARGUS_JWKS_URL: { pointer: '/auth/jwksUrl', type: 'string' },
      ARGUS_AUTH_DECISIONS: { pointer: '/auth/decisions', type: 'string' },
      ARGUS_PROXY_SERVICE_TOKEN: { pointer: '/auth/serviceTokens/proxy', type: 'string' },
      ARGUS_LOG_LEVEL: { pointer: '/logging/level', type: 'string' },
    });
    expect(composeConfigFile(FILE_ID, { auth: withoutEnv(authSection) }).env).toEqual({});
  });

  it('refuses a variable two sections claim, and a section listed under another key', () => {
    const twin = defineSection({ key: 'server', schemaId: 'https://argus.dev/schemas/config/server.json', env: authSection.env });
    expect(() => composeConfigFile(FILE_ID, { auth: authSection, server: twin })).toThrow(/ARGUS_ADMIN_TOKEN/);
    expect(() => composeConfigFile(FILE_ID, { other: authSection })).toThrow(/listed under/);
  });

  it('applies an optional section’s overrides only when the file has the section', () => {
    const optional = defineSection<{ level: string }, true>({
      key: 'logging',
      schemaId: 'https://argus.dev/schemas/config/logging.json',
      optional: true,
      env: { ARGUS_LOG_LEVEL: { pointer: '/level', type: 'string' } },
    });
    const f = composeConfigFile(FILE_ID, { logging: optional });
    expect(f.load({ document: {}, env: { ARGUS_LOG_LEVEL: 'warn' } }).logging).toBeUndefined();
    expect(f.load({ document: { logging: {} }, env: { ARGUS_LOG_LEVEL: 'warn' } }).logging).toEqual({ level: 'warn' });
  });

  it('takes an extra default only for a key nothing else sets, evaluating it only then', () => {
    let calls = 0;
    const defaults = { '/auth/adminToken': () => `generated-token-${++calls}-0123456789` };
    expect(file.load({ document: {}, env: {}, defaults }).auth.adminToken).toBe('generated-token-1-0123456789');
    expect(file.load({ document: { auth: { adminToken: 'file-token-0123456789' } }, env: {}, defaults }).auth.adminToken).toBe(
      'file-token-0123456789',
    );
    expect(file.load({ document: {}, env: { ARGUS_ADMIN_TOKEN: 'env-token-0123456789' }, defaults }).auth.adminToken).toBe(
      'env-token-0123456789',
    );
    expect(calls).toBe(1);
  });

  it('reports an unreadable variable together with the sections’ own problems', () => {
    const level = defineSection<{ level: string }>({
      key: 'logging',
      schemaId: 'https://argus.dev/schemas/config/logging.json',
      env: { ARGUS_LOG_VERBOSE: { pointer: '/verbose', type: 'boolean' } },
    });
    const e = errorsOf(() =>
      composeConfigFile(FILE_ID, { logging: level, auth: authSection }).load({
        document: { auth: { adminRole: 1 } },
        env: { ARGUS_LOG_VERBOSE: 'yes' },
      }),
    );
    expect(e.errors).toEqual(
      expect.arrayContaining([
        { path: '/logging/verbose', message: 'ARGUS_LOG_VERBOSE must be `true` or `false`' },
        expect.objectContaining({ path: '/auth/adminRole' }),
      ]),
    );
  });
});

describe('standaloneConfigFile', () => {
  it('is one section as the whole file: its overrides at the root, its problems without a prefix', () => {
    const f = standaloneConfigFile(loggingSection);
    expect(f.env).toEqual({ ARGUS_LOG_LEVEL: { pointer: '/level', type: 'string' } });
    expect(f.load({ document: {}, env: { ARGUS_LOG_LEVEL: 'error' } })).toEqual({ level: 'error' });
    const e = errorsOf(() => f.load({ document: { level: 'loud', other: 1 }, env: {} }));
    expect(e.errors.map((x) => x.path).sort()).toEqual(['/level', '/other']);
    expect(e.message).toMatch(/^invalid logging configuration: /);
  });
});

describe('readEnvValue', () => {
  const at = (type: 'integer' | 'boolean' | 'token-map', raw: string) => readEnvValue('V', { pointer: '/k', type }, '/x/k', { V: raw });
  it('reads integers, booleans and token maps, and names the variable for bad text', () => {
    expect(at('integer', '42')).toEqual({ value: 42 });
    expect(at('integer', '4.2')).toEqual({ issue: { path: '/x/k', message: 'V must be an integer' } });
    expect(at('boolean', 'false')).toEqual({ value: false });
    expect(at('boolean', '1').issue?.path).toBe('/x/k');
    expect(at('token-map', 'a=tok-1,b=tok-2')).toEqual({ value: { a: 'tok-1', b: 'tok-2' } });
    expect(at('token-map', '{"a":"tok-1"}')).toEqual({ value: { a: 'tok-1' } });
    expect(at('token-map', '{"a":').issue?.message).toMatch(/^V must be/);
    expect(readEnvValue('V', { pointer: '/k', type: 'string' }, '/k', { V: '' })).toEqual({});
  });
});

describe('schemaAt', () => {
  it('follows $refs and map values to the key a pointer names', () => {
    expect(schemaAt(FILE_ID, '/server/port')).toMatchObject({ type: 'integer' });
    expect(schemaAt(FILE_ID, '/auth/serviceTokens/proxy')).toMatchObject({ type: 'string' });
    expect(schemaAt(FILE_ID, '/store/url')).toMatchObject({ type: 'string' });
    expect(schemaAt(FILE_ID, '/server/nope')).toBeUndefined();
  });
});

describe('redactConfig', () => {
  it('redacts secret-named values, token maps and passwords in URLs', () => {
    const c = file.load({
      document: { auth: { serviceTokens: { app: 'an-app-service-token-0123' } } },
      env: { ARGUS_ADMIN_TOKEN: 'a-very-secret-admin-token' },
    });
    const shown = JSON.stringify(redactConfig({ ...c, store: { url: 'mongodb://argus:hunter2@db:27017/argus' } }));
    expect(shown).not.toContain('a-very-secret-admin-token');
    expect(shown).not.toContain('an-app-service-token-0123');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('mongodb://argus:[redacted]@db:27017/argus');
  });
});

describeConfigFile('auth and logging', file, {
  samples: {
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
    ARGUS_LOG_LEVEL: { file: 'warn', env: 'debug', parsed: 'debug' },
  },
});
