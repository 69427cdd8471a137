import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, PrivateRedis, testPrefix } from '@argus/store/testing';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

async function readiness(url: string): Promise<{ status: number; checks: Array<{ name: string; ok: boolean; detail?: string }> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> }).checks };
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('readiness with Redis configured', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argus-readyz-'));
  const prefix = testPrefix();
  let redis: PrivateRedis;
  let running: RunningApdp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const file = join(dir, 'argus.yaml');
    writeFileSync(
      file,
      [
        'server: { host: 127.0.0.1, port: 0, shutdownGraceMs: 2000 }',
        `policy: { dir: ${join(ROOT, 'cedar')}, watch: false }`,
        `governance: { intentsFile: ${join(ROOT, 'cedar/intents.json')} }`,
        'auth: { adminToken: readiness-test-admin-token-0123 }',
        `store: { url: "sqlite:${join(dir, 'argus.db')}", redisUrl: "${redis.url}", redisPrefix: "${prefix}", redisCommandTimeoutMs: 500 }`,
        'audit: { enabled: false }',
        'logging: { level: silent }',
      ].join('\n'),
    );
    running = await startApdp(loadApdpConfig(file, {}));
  }, 30_000);

  afterAll(async () => {
    await running?.shutdown.run();
    await redis.start();
    await deleteKeys(redis.url, prefix);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports not ready while Redis is unreachable, and ready again once it is back', async () => {
    expect((await readiness(running.url)).status).toBe(200);
    await redis.stop();
    const down = await until(
      () => readiness(running.url),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'redis', ok: false })]));
    await redis.start();
    const up = await until(
      () => readiness(running.url),
      (r) => r.status === 200,
    );
    expect(up.status).toBe(200);
  }, 40_000);
});
