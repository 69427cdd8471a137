/**
 * Two decision-point replicas (two `apdp` runtimes over one store, Redis pub/sub between them,
 * a unique key prefix on the shared Redis): a stop made on one replica denies on the other
 * within the bound, through the bus, long before the periodic re-read; a resume likewise.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';
import { DEFAULT_SWITCH_RELOAD_MS } from './switches.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const ADMIN = 'switch-replicas-admin-token-0123456789';
/** What "within the bound" means here: far below the periodic re-read, so only the bus can explain it. */
const BOUND_MS = 1_000;

describe('switches across two replicas on Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argus-switch-replicas-'));
  const prefix = testPrefix();
  const replicas: RunningApdp[] = [];

  const start = async (name: string): Promise<RunningApdp> => {
    const file = join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
        policy: { dir: join(ROOT, 'cedar'), watch: false },
        governance: { intentsFile: join(ROOT, 'cedar/intents.json') },
        auth: { adminToken: ADMIN },
        store: { url: `sqlite:${join(dir, 'shared.db')}`, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix, redisCommandTimeoutMs: 1000 },
        audit: { enabled: false },
        logging: { level: 'silent' },
      }),
    );
    return startApdp(loadApdpConfig(file, {}));
  };
  const call = async (replica: RunningApdp, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${replica.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const allowed = async (replica: RunningApdp): Promise<boolean> => {
    const input = {
      principal: { type: 'Agent', id: 'bot-a' },
      action: 'tool:call',
      resource: {
        type: 'Tool',
        id: 'github/create_issue',
        attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] },
      },
      intent: 'lookup-order-status',
    };
    const r = await call(replica, 'POST', '/v1/authorize', { input });
    return (r.body.result as { allow: boolean }).allow;
  };
  /** Milliseconds until `replica` answers `want`, or Infinity past twice the bound. */
  const seen = async (replica: RunningApdp, want: boolean): Promise<number> => {
    const t0 = performance.now();
    while (performance.now() - t0 < 2 * BOUND_MS) {
      if ((await allowed(replica)) === want) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 10));
    }
    return Number.POSITIVE_INFINITY;
  };

  beforeAll(async () => {
    replicas.push(await start('a'), await start('b'));
    const registry = replicas[0]!.runtime.storage.registry;
    await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await registry.createAgent({ id: 'bot-a', name: 'bot-a', owner: 'alice', trust: 'trusted' }, 'test');
  }, 30_000);

  afterAll(async () => {
    for (const r of replicas) await r.shutdown.run();
    await deleteKeys(SHARED_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a stop on replica A denies on replica B within the bound, a resume allows again (three rounds)', async () => {
    expect(BOUND_MS * 2).toBeLessThan(DEFAULT_SWITCH_RELOAD_MS);
    const [a, b] = replicas as [RunningApdp, RunningApdp];
    expect(await allowed(b)).toBe(true);
    const latencies: number[] = [];
    for (let round = 0; round < 3; round++) {
      expect((await call(a, 'PUT', '/v1/switches/agent/bot-a', { reason: `drill ${round}` })).status).toBe(200);
      // The replica that took the change applies it before answering.
      expect(await allowed(a)).toBe(false);
      const stopped = await seen(b, false);
      expect(stopped, `round ${round}: replica B still allowed`).toBeLessThan(BOUND_MS);
      latencies.push(stopped);
      expect((await call(b, 'DELETE', '/v1/switches/agent/bot-a')).status).toBe(200);
      expect(await seen(a, true), `round ${round}: replica A still denied`).toBeLessThan(BOUND_MS);
    }
    console.info(`[switches] stop seen on the other replica after ${latencies.map((l) => `${l.toFixed(1)} ms`).join(', ')}`);
  }, 30_000);
});
