/**
 * Several replicas, for real: two decision points, one registry and one proxy as separate
 * processes on loopback ports, sharing one SQLite file and the machine's Redis (under a random key
 * prefix). A policy update, an agent quarantine and a grant revocation must each reach every
 * replica (the delays are measured and printed); a replica started later catches up; a replica
 * whose Redis dies fails closed and recovers by itself when Redis returns.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, PrivateRedis, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { admin, BOT_TOKEN, decide, invoke, startApdpReplica, startProxyProcess, startRegistryProcess } from './support/argus-fixture.ts';
import type { AppProcess } from './support/processes.ts';

const TARGET_MS = 1_000;
const dir = mkdtempSync(join(tmpdir(), 'argus-replicas-'));
const prefix = testPrefix();
const storeUrl = `sqlite:${join(dir, 'shared.db')}`;
const started: AppProcess[] = [];
const delays: Array<{ change: string; replica: string; ms: number; afterCommitMs?: number }> = [];
let upstream: Server;
let privateRedis: PrivateRedis;
let registry: AppProcess;
let apdpA: AppProcess;
let apdpB: AppProcess;
let proxy: AppProcess;
let apdpD: AppProcess;

function chat(model: string): Promise<Response> {
  return fetch(`${proxy.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

/**
 * Runs `change` and polls every probe (5 ms apart) until it shows the change. Records, per
 * replica, the time from sending the change request to the first answer that shows it (`ms`), and
 * the propagation delay proper: from the moment the change was committed (its request answered)
 * to that first answer (`afterCommitMs`, 0 when a replica showed it before the answer arrived).
 */
async function propagate(change: string, act: () => Promise<unknown>, probes: Record<string, () => Promise<boolean>>): Promise<void> {
  const t0 = performance.now();
  let committedAt: number | undefined;
  const acting = act().then((v) => {
    committedAt = performance.now();
    return v;
  });
  await Promise.all(
    Object.entries(probes).map(async ([replica, seen]) => {
      for (;;) {
        if (await seen()) {
          const at = performance.now();
          await acting;
          delays.push({ change, replica, ms: round(at - t0), afterCommitMs: round(Math.max(0, at - committedAt!)) });
          return;
        }
        if (performance.now() - t0 > 10_000) throw new Error(`${change} did not reach ${replica} within 10 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
  await acting;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function expectWithinTarget(change: string): void {
  const rows = delays.filter((x) => x.change === change);
  expect(rows.length).toBeGreaterThan(0);
  for (const d of rows) expect(d.afterCommitMs, `${change} → ${d.replica}`).toBeLessThan(TARGET_MS);
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  privateRedis = await PrivateRedis.start();

  // The registry creates the SQLite schema first; the replicas open the same file.
  registry = await startRegistryProcess({ storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix });
  started.push(registry);
  [apdpA, apdpB, apdpD] = await Promise.all([
    startApdpReplica({ name: 'apdp-a', dir, storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix }),
    startApdpReplica({ name: 'apdp-b', dir, storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix }),
    startApdpReplica({ name: 'apdp-d', dir, storeUrl, redisUrl: privateRedis.url, redisPrefix: prefix }),
  ]);
  started.push(apdpA, apdpB, apdpD);
  proxy = await startProxyProcess({
    dir,
    apdpUrl: apdpA.url,
    upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    botTokenSha256: createHash('sha256').update(BOT_TOKEN).digest('hex'),
  });
  started.push(proxy);

  await admin('POST', `${registry.url}/v1/registry/humans`, { id: 'alice', email: 'alice@example.com' }, 201);
  for (const id of ['bot', 'helper'])
    await admin('POST', `${registry.url}/v1/registry/agents`, { id, name: id, owner: 'alice', trust: 'trusted' }, 201);
}, 180_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop(5_000)));
  await privateRedis?.stop();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  await deleteKeys(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
  if (delays.length > 0) {
    process.stdout.write(
      `\nPropagation (target < ${TARGET_MS} ms after commit). change | replica | request sent → seen | commit answered → seen\n`,
    );
    for (const d of delays)
      process.stdout.write(
        `  ${d.change.padEnd(20)} ${d.replica.padEnd(14)} ${d.ms.toFixed(1).padStart(8)} ms ${d.afterCommitMs === undefined ? '' : `${d.afterCommitMs.toFixed(1).padStart(8)} ms`}\n`,
      );
  }
});

describe('replicas over shared Redis and SQLite', () => {
  it('starts every process and serves the same policy set everywhere', async () => {
    const [a, b] = await Promise.all([decide(apdpA.url, invoke('bot', 'gpt-4o')), decide(apdpB.url, invoke('bot', 'gpt-4o'))]);
    expect(a.allow).toBe(true);
    expect(b.allow).toBe(true);
    expect(a.policyVersion).toBe(b.policyVersion);
    // The proxy reaches the decision point and forwards the allowed call.
    const viaProxy = await chat('gpt-4o');
    expect(viaProxy.status).toBe(200);
    for (const p of [registry, apdpA, apdpB, proxy]) expect((await fetch(`${p.url}/readyz`)).status, p.name).toBe(200);
  });

  it('a policy update on replica A reaches replica B in under a second', async () => {
    expect((await decide(apdpB.url, invoke('bot', 'canary-model'))).allow).toBe(true);
    const source = (await admin('GET', `${apdpA.url}/v1/policies/source`)) as { policies: Array<{ file: string; text: string }> };
    const canary =
      '@id("replica-canary")\n@reason("replica test: the canary model is off limits")\nforbid (principal, action == Argus::Action::"llm:invoke", resource == Argus::Model::"canary-model");\n';
    let version = '';
    await propagate(
      'policy update',
      async () => {
        version = (
          await admin('PUT', `${apdpA.url}/v1/policies`, {
            policies: [...source.policies.map((p) => ({ file: p.file, text: p.text })), { file: 'replica-canary.cedar', text: canary }],
            message: 'replica test',
          })
        ).version as string;
      },
      {
        'apdp-a': async () => !(await decide(apdpA.url, invoke('bot', 'canary-model'))).allow,
        'apdp-b': async () => !(await decide(apdpB.url, invoke('bot', 'canary-model'))).allow,
      },
    );
    expect((await decide(apdpB.url, invoke('bot', 'canary-model'))).policyVersion).toBe(version);
    expect((await decide(apdpB.url, invoke('bot', 'gpt-4o'))).allow).toBe(true);
    expectWithinTarget('policy update');
  });

  it('a grant revocation on replica A reaches replica B in under a second', async () => {
    const grant = await admin(
      'POST',
      `${apdpA.url}/v1/delegations`,
      {
        from: { type: 'Human', id: 'alice' },
        to: { type: 'Agent', id: 'helper' },
        scope: { actions: ['llm:invoke'], resources: ['*'] },
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
      201,
    );
    const before = await decide(apdpB.url, invoke('helper', 'gpt-4o', 'alice'));
    expect(before.allow, JSON.stringify(before)).toBe(true);
    await propagate(
      'grant revocation',
      () => admin('POST', `${apdpA.url}/v1/delegations/${String(grant.id)}/revoke`, { reason: 'replica test' }),
      {
        'apdp-a': async () => !(await decide(apdpA.url, invoke('helper', 'gpt-4o', 'alice'))).allow,
        'apdp-b': async () => !(await decide(apdpB.url, invoke('helper', 'gpt-4o', 'alice'))).allow,
      },
    );
    // The revoked grant is no longer an active hop of the chain: a structural (hard) deny.
    expect((await decide(apdpB.url, invoke('helper', 'gpt-4o', 'alice'))).codes).toEqual(
      expect.arrayContaining([expect.stringMatching(/^delegation_(revoked|unknown_hop)$/)]),
    );
    expectWithinTarget('grant revocation');
  });

  it('an agent quarantine through the registry reaches both replicas and the proxy in under a second', async () => {
    // Warm every replica's registry cache, so a stale answer would be served if the event were lost.
    for (const url of [apdpA.url, apdpB.url]) expect((await decide(url, invoke('bot', 'gpt-4o'))).allow).toBe(true);
    expect(((await (await chat('gpt-4o')).json()) as { error?: { codes?: string[] } }).error?.codes ?? []).not.toContain(
      'agent_quarantined',
    );
    await propagate(
      'agent quarantine',
      () => admin('POST', `${registry.url}/v1/registry/agents/bot/trust`, { to: 'quarantined', reason: 'replica test' }),
      {
        'apdp-a': async () => (await decide(apdpA.url, invoke('bot', 'gpt-4o'))).codes.includes('agent_quarantined'),
        'apdp-b': async () => (await decide(apdpB.url, invoke('bot', 'gpt-4o'))).codes.includes('agent_quarantined'),
        // OpenAI routes answer in the OpenAI error shape: the codes are under `error`.
        'proxy (via A)': async () =>
          (((await (await chat('gpt-4o')).json()) as { error?: { codes?: string[] } }).error?.codes ?? []).includes('agent_quarantined'),
      },
    );
    expectWithinTarget('agent quarantine');
  });

  it('a replica started later catches up: the published set, the quarantine and the revocation', async () => {
    const t0 = performance.now();
    const late = await startApdpReplica({ name: 'apdp-c', dir, storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix });
    started.push(late);
    const [canary, quarantined, revoked, reference] = await Promise.all([
      decide(late.url, invoke('bot', 'canary-model')),
      decide(late.url, invoke('bot', 'gpt-4o')),
      decide(late.url, invoke('helper', 'gpt-4o', 'alice')),
      decide(apdpA.url, invoke('helper', 'gpt-4o')),
    ]);
    delays.push({ change: 'late replica ready', replica: 'apdp-c', ms: Math.round(performance.now() - t0) });
    expect(canary.allow).toBe(false);
    expect(canary.policyVersion).toBe(reference.policyVersion);
    expect(quarantined.codes).toContain('agent_quarantined');
    expect(revoked.allow).toBe(false);
    expect(revoked.codes).toEqual(expect.arrayContaining([expect.stringMatching(/^delegation_(revoked|unknown_hop)$/)]));
    expect((await decide(late.url, invoke('helper', 'gpt-4o'))).allow).toBe(true);
  }, 40_000);

  it('a replica that loses Redis fails closed, recovers by itself when Redis returns, and catches up on what it missed', async () => {
    expect((await decide(apdpD.url, invoke('helper', 'gpt-4o'))).allow).toBe(true);
    // apdp-d listens on its own Redis, so it never heard replica A publish the canary policy.
    const published = (await decide(apdpA.url, invoke('helper', 'gpt-4o'))).policyVersion;
    expect((await decide(apdpD.url, invoke('helper', 'gpt-4o'))).policyVersion).not.toBe(published);
    await propagate('redis lost (deny)', () => privateRedis.stop(), {
      'apdp-d': async () => (await decide(apdpD.url, invoke('helper', 'gpt-4o'))).codes.includes('lease_unknown'),
    });
    // Still closed a while later: no decision slips through while Redis is away.
    await new Promise((r) => setTimeout(r, 300));
    const during = await decide(apdpD.url, invoke('helper', 'gpt-4o'));
    expect(during.allow).toBe(false);
    expect(during.codes).toContain('lease_unknown');
    await propagate('redis back (allow)', () => privateRedis.start(), {
      'apdp-d': async () => (await decide(apdpD.url, invoke('helper', 'gpt-4o'))).allow,
    });
    expect(apdpD.child.exitCode).toBeNull();
    // Back on the bus, it resynchronises: the active set in the shared store is the one it serves.
    await propagate('resync after outage', async () => undefined, {
      'apdp-d': async () => (await decide(apdpD.url, invoke('helper', 'gpt-4o'))).policyVersion === published,
    });
    expect((await decide(apdpD.url, invoke('bot', 'canary-model'))).allow).toBe(false);
    const recovery = delays.find((d) => d.change === 'redis back (allow)')!;
    expect(recovery.ms).toBeLessThan(5_000);
  }, 30_000);
});
