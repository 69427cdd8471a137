/**
 * `argus serve` configuration precedence, key by key: embedded defaults < file < environment <
 * flags. Before this module, a `-c` file's `policy.dir`, `governance.intentsFile`, `store.url` and
 * `auth.adminToken` were silently replaced by the embedded defaults; each of those keys has a
 * "the file wins over the default" case here, and the last test starts a real `argus serve -c`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { serve } from '../commands/serve.ts';
import { embeddedPolicyDir, resolveServeSettings } from './settings.ts';

const REPO_CEDAR = resolve(import.meta.dirname, '../../../../cedar');
const work = mkdtempSync(join(tmpdir(), 'argus-serve-settings-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function fresh(): { dataDir: string; file: (doc: unknown) => string } {
  const dir = join(work, String(++n));
  const dataDir = join(dir, 'data');
  cpSync(REPO_CEDAR, join(dir, 'cedar'), { recursive: true });
  return {
    dataDir,
    file: (doc) => {
      const path = join(dir, 'argus.json');
      writeFileSync(path, JSON.stringify(doc));
      return path;
    },
  };
}

const FILE_TOKEN = 'file-admin-token-0123456789';
const ENV_TOKEN = 'env-admin-token-0123456789';

describe('argus serve configuration precedence', () => {
  describe('policy.dir', () => {
    it('defaults to the embedded policy directory', () => {
      const { dataDir } = fresh();
      expect(resolveServeSettings({ dataDir }, {}).config.policy.dir).toBe(embeddedPolicyDir());
    });
    it('the file beats the default', () => {
      const { dataDir, file } = fresh();
      expect(resolveServeSettings({ dataDir, config: file({ policy: { dir: '/from/file' } }) }, {}).config.policy.dir).toBe('/from/file');
    });
    it('the environment beats the file', () => {
      const { dataDir, file } = fresh();
      const env = { ARGUS_POLICY_DIR: '/from/env' };
      expect(resolveServeSettings({ dataDir, config: file({ policy: { dir: '/from/file' } }) }, env).config.policy.dir).toBe('/from/env');
    });
    it('--policies beats the environment', () => {
      const { dataDir, file } = fresh();
      const env = { ARGUS_POLICY_DIR: '/from/env' };
      expect(
        resolveServeSettings({ dataDir, policies: '/from/flag', config: file({ policy: { dir: '/from/file' } }) }, env).config.policy.dir,
      ).toBe('/from/flag');
    });
  });

  describe('governance.intentsFile', () => {
    it('defaults to intents.json in the policy directory in force', () => {
      const { dataDir, file } = fresh();
      expect(resolveServeSettings({ dataDir }, {}).config.governance.intentsFile).toBe(join(embeddedPolicyDir(), 'intents.json'));
      expect(resolveServeSettings({ dataDir, config: file({ policy: { dir: '/p' } }) }, {}).config.governance.intentsFile).toBe(
        '/p/intents.json',
      );
      expect(resolveServeSettings({ dataDir, policies: '/flag' }, {}).config.governance.intentsFile).toBe('/flag/intents.json');
    });
    it('the file beats the default', () => {
      const { dataDir, file } = fresh();
      const config = file({ governance: { intentsFile: '/from/file/intents.json' } });
      expect(resolveServeSettings({ dataDir, config }, {}).config.governance.intentsFile).toBe('/from/file/intents.json');
      // A policy directory named elsewhere does not replace an intent catalogue the file names.
      expect(resolveServeSettings({ dataDir, config, policies: '/flag' }, {}).config.governance.intentsFile).toBe(
        '/from/file/intents.json',
      );
    });
  });

  describe('store.url', () => {
    it('defaults to SQLite in the data dir', () => {
      const { dataDir } = fresh();
      expect(resolveServeSettings({ dataDir }, {}).config.store.url).toBe(`sqlite:${join(dataDir, 'argus.db')}`);
    });
    it('the file beats the default', () => {
      const { dataDir, file } = fresh();
      expect(resolveServeSettings({ dataDir, config: file({ store: { url: 'sqlite:/from/file.db' } }) }, {}).config.store.url).toBe(
        'sqlite:/from/file.db',
      );
    });
    it('the environment beats the file', () => {
      const { dataDir, file } = fresh();
      const env = { ARGUS_STORE_URL: 'sqlite:/from/env.db' };
      expect(resolveServeSettings({ dataDir, config: file({ store: { url: 'sqlite:/from/file.db' } }) }, env).config.store.url).toBe(
        'sqlite:/from/env.db',
      );
    });
    it('--store beats the environment', () => {
      const { dataDir, file } = fresh();
      const env = { ARGUS_STORE_URL: 'sqlite:/from/env.db' };
      const r = resolveServeSettings(
        { dataDir, store: 'sqlite:/from/flag.db', config: file({ store: { url: 'sqlite:/from/file.db' } }) },
        env,
      );
      expect(r.config.store.url).toBe('sqlite:/from/flag.db');
    });
  });

  describe('auth.adminToken', () => {
    it('defaults to a token generated into the data dir', () => {
      const { dataDir } = fresh();
      const r = resolveServeSettings({ dataDir }, {});
      expect(r.generatedTokenFile).toBe(join(dataDir, 'admin-token'));
      expect(readFileSync(r.generatedTokenFile!, 'utf8').trim()).toBe(r.config.auth.adminToken);
      expect(r.config.auth.adminToken).toMatch(/^argus_admin_/);
    });
    it('the file beats the default, and no token file is written', () => {
      const { dataDir, file } = fresh();
      const r = resolveServeSettings({ dataDir, config: file({ auth: { adminToken: FILE_TOKEN } }) }, {});
      expect(r.config.auth.adminToken).toBe(FILE_TOKEN);
      expect(r.generatedTokenFile).toBeUndefined();
      expect(existsSync(join(dataDir, 'admin-token'))).toBe(false);
    });
    it('the environment beats the file', () => {
      const { dataDir, file } = fresh();
      const r = resolveServeSettings({ dataDir, config: file({ auth: { adminToken: FILE_TOKEN } }) }, { ARGUS_ADMIN_TOKEN: ENV_TOKEN });
      expect(r.config.auth.adminToken).toBe(ENV_TOKEN);
    });
  });

  describe('server.port and server.host', () => {
    it('file < environment < flags', () => {
      const { dataDir, file } = fresh();
      const config = file({ server: { port: 9001, host: '127.0.0.2' } });
      expect(resolveServeSettings({ dataDir, config }, {}).config.server).toMatchObject({ port: 9001, host: '127.0.0.2' });
      expect(resolveServeSettings({ dataDir, config }, { ARGUS_PORT: '9002', ARGUS_HOST: '127.0.0.3' }).config.server).toMatchObject({
        port: 9002,
        host: '127.0.0.3',
      });
      const flags = { dataDir, config, port: '9003', host: '127.0.0.4' };
      expect(resolveServeSettings(flags, { ARGUS_PORT: '9002', ARGUS_HOST: '127.0.0.3' }).config.server).toMatchObject({
        port: 9003,
        host: '127.0.0.4',
      });
    });
  });

  describe('audit sinks', () => {
    it('live in the data dir unless the file names them', () => {
      const { dataDir, file } = fresh();
      expect(resolveServeSettings({ dataDir }, {}).config.audit).toMatchObject({
        sinks: [{ type: 'sqlite', path: join(dataDir, 'audit.db') }],
      });
      const config = file({ audit: { sinks: [{ type: 'jsonl', path: '/from/file.jsonl' }] } });
      expect(resolveServeSettings({ dataDir, config }, {}).config.audit).toMatchObject({
        sinks: [{ type: 'jsonl', path: '/from/file.jsonl' }],
      });
    });
  });

  it('argus serve -c FILE runs with the policy directory, store and admin token the file names', async () => {
    const { dataDir, file } = fresh();
    const policies = join(work, 'file-policies');
    cpSync(REPO_CEDAR, policies, { recursive: true });
    writeFileSync(
      join(policies, 'policies', 'extra.cedar'),
      '@id("extra-from-file")\nforbid (principal, action, resource) when { false };\n',
    );
    const storePath = join(work, 'file-store.db');
    const config = file({
      policy: { dir: policies, watch: false },
      governance: { intentsFile: join(policies, 'intents.json') },
      store: { url: `sqlite:${storePath}` },
      auth: { adminToken: FILE_TOKEN },
    });
    const running = await serve({ config, port: '0', host: '127.0.0.1', dataDir, banner: false }, {});
    try {
      expect(running.runtime.config.policy.dir).toBe(policies);
      expect(running.runtime.config.governance.intentsFile).toBe(join(policies, 'intents.json'));
      expect(running.runtime.config.store.url).toBe(`sqlite:${storePath}`);
      expect(running.runtime.config.auth.adminToken).toBe(FILE_TOKEN);
      expect(running.runtime.holder.current!.set.policies.has('extra-from-file')).toBe(true);
      expect(existsSync(storePath)).toBe(true);
      expect(existsSync(join(dataDir, 'admin-token'))).toBe(false);
      const ok = await fetch(`${running.url}/v1/registry/agents`, { headers: { authorization: `Bearer ${FILE_TOKEN}` } });
      expect(ok.status).toBe(200);
    } finally {
      await running.close();
    }
  }, 60_000);
});

describe('auth.decisions (docs/security.md)', () => {
  it('is open for the quick start without a file, the file or the environment deciding otherwise', () => {
    const { dataDir, file } = fresh();
    expect(resolveServeSettings({ dataDir }, {}).config.auth.decisions).toBe('open');
    expect(resolveServeSettings({ dataDir }, { ARGUS_AUTH_DECISIONS: 'required' }).config.auth.decisions).toBe('required');
    expect(resolveServeSettings({ dataDir, config: file({}) }, {}).config.auth.decisions).toBe('required');
    expect(resolveServeSettings({ dataDir, config: file({ auth: { decisions: 'open' } }) }, {}).config.auth.decisions).toBe('open');
  });
});

describe('a bad configuration', () => {
  const BIN = fileURLToPath(new URL('../../bin/argus.mjs', import.meta.url));
  const SECRET = 'file-admin-token-canary-0123456789';
  const bad = {
    server: { port: 'eighty', colour: 'blue' },
    auth: { adminToken: SECRET, decisions: 'sometimes' },
    proxy: {
      upstreams: [
        { name: 'a', kind: 'openai', prefix: '/a', target: 'https://api.openai.com' },
        { name: 'a', kind: 'openai', prefix: '/b', target: 'https://api.openai.com' },
      ],
    },
    logs: { level: 'debug' },
  };
  const PATHS = ['/auth/decisions', '/logs', '/proxy/upstreams/1/name', '/server/colour', '/server/port', '/store/redisPrefix'];
  const env = { PATH: process.env.PATH ?? '', HOME: work, NO_COLOR: '1', ARGUS_REDIS_PREFIX: 'not a prefix!' };

  it('is one ConfigError naming every offending path (unknown keys, wrong types, each section’s own rules, the environment)', () => {
    const { dataDir, file } = fresh();
    try {
      resolveServeSettings({ dataDir, config: file(bad) }, env);
      expect.unreachable();
    } catch (err) {
      const e = err as { code: string; errors: Array<{ path: string }>; message: string };
      expect(e.code).toBe('invalid_config');
      expect([...new Set(e.errors.map((x) => x.path))].sort()).toEqual(PATHS);
      expect(JSON.stringify({ m: e.message, e: e.errors })).not.toContain(SECRET);
    }
  });

  it('stops argus serve with exit 2, each path on its own line; argus config check exits 1 with the same paths', () => {
    const { dataDir, file } = fresh();
    const config = file(bad);
    const serve = spawnSync(process.execPath, [BIN, 'serve', '-c', config, '--data-dir', dataDir], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(serve.status).toBe(2);
    for (const path of PATHS) expect(serve.stderr).toMatch(new RegExp(`^  ${path.replaceAll('/', '\\/')}: `, 'm'));
    expect(serve.stderr).not.toContain(SECRET);
    const check = spawnSync(process.execPath, [BIN, 'config', 'check', config], { env, encoding: 'utf8', timeout: 60_000 });
    expect(check.status).toBe(1);
    for (const path of PATHS) expect(check.stderr).toContain(`  ${path}: `);
    expect(check.stderr + check.stdout).not.toContain(SECRET);
  }, 120_000);
});
