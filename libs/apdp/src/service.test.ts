import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { halfClosedExchange } from '@argus/platform/testing/raw-http';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';
import { OPENAPI_FILE } from './routes/openapi.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const ADMIN = 'main-test-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'argus-apdp-main-'));

function writeConfig(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadApdpConfig', () => {
  it('fills defaults, applies ARGUS_* overrides, and freezes the result', () => {
    const file = writeConfig('ok.yaml', `server:\n  port: 0\nstore:\n  url: sqlite:${join(dir, 'a.db')}\n`);
    const config = loadApdpConfig(file, { ARGUS_LOG_LEVEL: 'warn', ARGUS_REDIS_PREFIX: 'argus-main-test:' });
    expect(config.server).toMatchObject({ port: 0, host: '127.0.0.1', shutdownGraceMs: 10_000 });
    expect(config.logging.level).toBe('warn');
    expect(config.store.redisPrefix).toBe('argus-main-test:');
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('refuses a bad file naming the path, without echoing a secret', () => {
    const file = writeConfig('bad.yaml', `server:\n  port: 70000\nauth:\n  adminToken: short-secret\n`);
    let caught: unknown;
    try {
      loadApdpConfig(file, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.errors.map((x) => x.path)).toEqual(expect.arrayContaining(['/server/port', '/auth/adminToken']));
    expect(JSON.stringify({ message: e.message, errors: e.errors })).not.toContain('short-secret');
  });
});

describe('startApdp', () => {
  let running: RunningApdp;

  beforeAll(async () => {
    const file = writeConfig(
      'serve.yaml',
      [
        'server: { host: 127.0.0.1, port: 0, shutdownGraceMs: 5000 }',
        `policy: { dir: ${join(ROOT, 'cedar')}, watch: false }`,
        `governance: { intentsFile: ${join(ROOT, 'cedar/intents.json')} }`,
        `auth: { adminToken: ${ADMIN} }`,
        `store: { url: "sqlite:${join(dir, 'serve.db')}" }`,
        `audit: { sinks: [{ type: sqlite, path: ${join(dir, 'audit.db')} }], spill: { dir: ${join(dir, 'spill')} } }`,
        'logging: { level: silent }',
      ].join('\n'),
    );
    running = await startApdp(loadApdpConfig(file, {}));
  });
  afterAll(async () => {
    await running.shutdown.run();
  });

  it('listens, is ready, serves /openapi.json and decides', async () => {
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Array<{ name: string }> }).checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['policies', 'store', 'audit']),
    );
    const doc = await fetch(`${running.url}/openapi.json`);
    expect(await doc.json()).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    const ask = { input: { principal: { type: 'Agent', id: 'nobody' }, action: 'llm:invoke', resource: { type: 'Model', id: 'gpt' } } };
    // `auth.decisions` defaults to `required`: an anonymous caller is refused before any decision.
    const anonymous = await fetch(`${running.url}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ask),
    });
    expect(anonymous.status).toBe(401);
    const decision = await fetch(`${running.url}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify(ask),
    });
    expect(decision.status).toBe(200);
    expect(((await decision.json()) as { result: { allow: boolean } }).result.allow).toBe(false);
  });

  it('answers a decision to a client that half-closes once its request is sent', async () => {
    const ask = { input: { principal: { type: 'Agent', id: 'nobody' }, action: 'llm:invoke', resource: { type: 'Model', id: 'gpt' } } };
    const head = `POST /v1/authorize HTTP/1.1\r\nHost: argus\r\nContent-Type: application/json\r\nAuthorization: Bearer ${ADMIN}`;
    const answer = await halfClosedExchange(running.url, head, JSON.stringify(ask));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain('"allow":false');
  });

  it('answers every documented decision-point path with something other than "no route"', async () => {
    const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const mounted = Object.entries(doc.paths).filter(
      ([p]) => !p.startsWith('/v1/registry') && !p.startsWith('/v1/approvals') && !/^\/v1\/policies\/(templates|links|shadow)/.test(p),
    );
    expect(mounted.length).toBeGreaterThan(20);
    for (const [path, item] of mounted) {
      for (const method of Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
        if (path === '/v1/decisions/stream') continue; // an endless event stream; its route is checked by openapi.test.ts
        const url = `${running.url}${path.replace(/\{[^}]+\}/g, 'x')}`;
        const res = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
        });
        const text = await res.text();
        expect(text.includes('no route for'), `${method.toUpperCase()} ${path} → ${res.status} ${text.slice(0, 120)}`).toBe(false);
        expect(res.status, `${method.toUpperCase()} ${path}`).toBeLessThan(500);
      }
    }
  });

  it('stops accepting connections on shutdown', async () => {
    const url = running.url;
    await running.shutdown.run();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
