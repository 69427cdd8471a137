import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '@argus/platform';
import { MemoryLeaseStore, openSqlite } from '@argus/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';
import { TrafficMarker } from './traffic.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('TrafficMarker', () => {
  it('batches marks: one lease renewal per agent per flush, lastSeen at most once per period', async () => {
    const s = openSqlite(':memory:');
    await s.registry.createHuman({ id: 'alice', email: 'a@example.com', roles: [] });
    await s.registry.createAgent({ id: 'bot', name: 'Bot', owner: 'alice' }, 'test');
    const leases = new MemoryLeaseStore();
    const renewals: string[] = [];
    let now = new Date('2026-12-06T10:00:00Z');
    const marker = new TrafficMarker({
      leases: { renew: (kind, id, ttl) => (renewals.push(`${kind}/${id}`), leases.renew(kind, id, ttl)) },
      registry: s.registry,
      leaseTtlMs: 60_000,
      flushMs: 60_000,
      lastSeenEveryMs: 60_000,
      clock: () => now,
      logger: silentLogger(),
    });
    for (let i = 0; i < 50; i++) marker.seen('bot');
    await marker.flush();
    expect(renewals).toEqual(['agent/bot']);
    expect((await leases.get('agent', 'bot')).state).toBe('alive');
    expect((await s.registry.getAgent('bot'))?.lastSeen).toBe('2026-12-06T10:00:00.000Z');
    const version = (await s.registry.getAgent('bot'))!.version;

    now = new Date('2026-12-06T10:00:30Z');
    marker.seen('bot');
    await marker.flush();
    expect(renewals).toHaveLength(2);
    expect((await s.registry.getAgent('bot'))?.lastSeen).toBe('2026-12-06T10:00:00.000Z');

    now = new Date('2026-12-06T10:01:30Z');
    marker.seen('bot');
    marker.seen('ghost');
    await marker.close();
    expect((await s.registry.getAgent('bot'))?.lastSeen).toBe('2026-12-06T10:01:30.000Z');
    // Traffic is an observation, not an edit: an admin's If-Match stays valid.
    expect((await s.registry.getAgent('bot'))!.version).toBe(version);
    await leases.close();
    s.db.close();
  });
});

describe('leases renewed by decision traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argus-traffic-'));
  const ADMIN = 'traffic-test-admin-token-0123456';
  let running: RunningApdp;

  beforeAll(async () => {
    const file = join(dir, 'argus.yaml');
    writeFileSync(
      file,
      [
        'server: { host: 127.0.0.1, port: 0, shutdownGraceMs: 2000 }',
        `policy: { dir: ${join(ROOT, 'cedar')}, watch: false }`,
        `governance: { intentsFile: ${join(ROOT, 'cedar/intents.json')} }`,
        `auth: { adminToken: ${ADMIN} }`,
        `store: { url: "sqlite:${join(dir, 'argus.db')}" }`,
        'audit: { enabled: false }',
        'logging: { level: silent }',
      ].join('\n'),
    );
    running = await startApdp(loadApdpConfig(file, {}));
    const registry = running.runtime.storage.registry;
    await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await registry.createAgent({ id: 'support-bot', name: 'Support bot', owner: 'alice', trust: 'trusted' }, 'test');
  }, 30_000);
  afterAll(async () => {
    await running?.shutdown.run();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an agent that never sent a heartbeat is alive with a fresh lastSeen after its calls are decided', async () => {
    expect((await running.runtime.leases.get('agent', 'support-bot')).state).toBe('expired');
    const res = await fetch(`${running.url}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({
        input: {
          principal: { type: 'Agent', id: 'support-bot' },
          action: 'tool:call',
          resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
          intent: 'lookup-order-status',
        },
      }),
    });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 10_000;
    while ((await running.runtime.leases.get('agent', 'support-bot')).state !== 'alive' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect((await running.runtime.leases.get('agent', 'support-bot')).state).toBe('alive');
    const lastSeen = (await running.runtime.storage.registry.getAgent('support-bot'))?.lastSeen;
    expect(Date.now() - Date.parse(lastSeen!)).toBeLessThan(15_000);
  }, 30_000);
});
