/**
 * Named quotas as a deployment runs them, configured by `effects.quotas.rules` and started by
 * `startApdp` (the composition root `argus serve` shares): counts in the embedded SQLite file
 * survive a restart, and two decision points in two processes sharing Redis admit exactly the
 * limit under concurrent requests. The starter policies (`cedar/`) decide.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { openStorage } from '@argus/store';
import { deleteKeys, freePort, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { loadApdpConfig, startApdp, type RunningApdp } from '../service.ts';
import { loadEffectsConfig } from './config.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const MAIN = fileURLToPath(new URL('../../../../apps/apdp/src/main.ts', import.meta.url));
const ADMIN = 'quota-test-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'argus-quotas-'));
const prefix = testPrefix();
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await deleteKeys(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** A config file: starter policies, SQLite store `db` (plus Redis when `redis`), the quota rules given as YAML flow lines. */
function config(name: string, options: { db: string; port?: number; redis?: boolean; rules: string[] }): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      `server: { host: 127.0.0.1, port: ${options.port ?? 0}, shutdownGraceMs: 2000 }`,
      `policy: { dir: ${join(ROOT, 'cedar')}, watch: false }`,
      `governance: { intentsFile: ${join(ROOT, 'cedar/intents.json')} }`,
      `auth: { adminToken: ${ADMIN} }`,
      `store: { url: "sqlite:${options.db}"${options.redis ? `, redisUrl: "${SHARED_REDIS_URL}", redisPrefix: "${prefix}"` : ''} }`,
      'audit: { enabled: false }',
      'logging: { level: silent }',
      'effects:',
      '  quotas:',
      '    rules:',
      ...options.rules.map((r) => `      - ${r}`),
    ].join('\n'),
  );
  return file;
}

/** Registers a trusted support-bot owned by alice in the SQLite file `db`. */
async function seed(db: string): Promise<void> {
  const storage = await openStorage(`sqlite:${db}`);
  await storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  await storage.registry.createAgent(
    { id: 'support-bot', name: 'Support bot', owner: 'alice', kind: 'assistant', trust: 'trusted' },
    'test',
  );
  await storage.close();
}

const CALL = {
  principal: { type: 'Agent', id: 'support-bot' },
  action: 'tool:call',
  resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
  intent: 'lookup-order-status',
};

async function decide(url: string): Promise<{ allow: boolean; codes?: string[] }> {
  const res = await fetch(`${url}/v1/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ input: CALL }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { allow: boolean; codes?: string[] } }).result;
}

describe('quota configuration', () => {
  it('refuses a bad rule naming its path', () => {
    const paths = (raw: unknown) => {
      try {
        loadEffectsConfig(raw, {});
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).errors.map((e) => e.path);
      }
      return [];
    };
    expect(paths({ quotas: { rules: [{ name: 'ok', key: ['human'], window: '1d', limit: 5 }] } })).toEqual([]);
    expect(paths({ quotas: { rules: [{ name: 'a', key: ['human'], window: '32d' }] } })).toEqual(['/effects/quotas/rules/0/window']);
    expect(paths({ quotas: { rules: [{ name: 'a', key: ['human'], window: '10ms' }] } })).toEqual(['/effects/quotas/rules/0/window']);
    expect(paths({ quotas: { rules: [{ name: 'a', key: ['human'], window: '1w' }] } })[0]).toMatch(/^\/effects\/quotas\/rules\/0\/window/);
    expect(paths({ quotas: { rules: [{ name: 'a', key: ['user'], window: '1h' }] } })[0]).toMatch(/^\/effects\/quotas\/rules\/0\/key\/0/);
    expect(paths({ quotas: { rules: [{ name: 'calls_last_hour', key: ['human'], window: '1h' }] } })[0]).toMatch(
      /^\/effects\/quotas\/rules\/0\/name/,
    );
    expect(
      paths({
        quotas: {
          rules: [
            { name: 'a', key: ['goal'], window: '1h' },
            { name: 'a', key: ['human'], window: '1h' },
          ],
        },
      }),
    ).toEqual(['/effects/quotas/rules/1/name']);
  });
});

describe('quotas in a running decision point', () => {
  it('embedded (SQLite): counts survive a restart of the decision point', async () => {
    const db = join(dir, 'restart.db');
    await seed(db);
    const file = config('restart.yaml', { db, rules: ['{ name: per_agent_daily, key: [principal], window: 1d, limit: 3 }'] });
    let running: RunningApdp | undefined = await startApdp(loadApdpConfig(file, {}));
    try {
      expect((await decide(running.url)).allow).toBe(true);
      expect((await decide(running.url)).allow).toBe(true);
      await running.shutdown.run();
      running = await startApdp(loadApdpConfig(file, {}));
      expect((await decide(running.url)).allow).toBe(true);
      expect(await decide(running.url)).toMatchObject({ allow: false, codes: ['quota_exceeded'] });
    } finally {
      await running?.shutdown.run();
    }
  });

  it('two processes on Redis: concurrent requests to both admit exactly the limit', async () => {
    const LIMIT = 25;
    const PER_REPLICA = 30;
    const db = join(dir, 'replicas.db');
    await seed(db);
    const rules = [`{ name: per_agent, key: [principal], window: 1h, limit: ${LIMIT} }`];
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, config('replica-b.yaml', { db, port, redis: true, rules })], {
      stdio: 'pipe',
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const a = await startApdp(loadApdpConfig(config('replica-a.yaml', { db, redis: true, rules }), {}));
    try {
      const b = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      while (
        !(await fetch(`${b}/readyz`)
          .then((r) => r.ok)
          .catch(() => false))
      ) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`replica B did not start: ${stderr.slice(0, 800)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const answers = await Promise.all([
        ...Array.from({ length: PER_REPLICA }, () => decide(a.url).then((r) => ({ at: 'a', r }))),
        ...Array.from({ length: PER_REPLICA }, () => decide(b).then((r) => ({ at: 'b', r }))),
      ]);
      const allowed = answers.filter((x) => x.r.allow);
      const byA = allowed.filter((x) => x.at === 'a').length;
      console.log(
        `quota race: ${allowed.length} of ${answers.length} allowed (limit ${LIMIT}): replica A ${byA}, replica B ${allowed.length - byA}`,
      );
      // Each replica got more requests than the limit: with counters of their own they would have
      // admitted 2 × LIMIT. Exactly LIMIT in total, however it splits (one replica may win every
      // slot), is what a shared, atomic counter gives.
      expect(PER_REPLICA).toBeGreaterThan(LIMIT);
      expect(allowed).toHaveLength(LIMIT);
      for (const x of answers.filter((y) => !y.r.allow)) expect(x.r.codes).toEqual(['quota_exceeded']);
      expect(await decide(b)).toMatchObject({ allow: false, codes: ['quota_exceeded'] });
    } finally {
      await a.shutdown.run();
      child.kill('SIGTERM');
    }
  });
});
