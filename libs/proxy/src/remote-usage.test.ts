/**
 * The standalone proxy charges goal budgets on a remote apdp (issue 16 item 5): its usage reports
 * go to `POST /v1/goals/{id}/usage` with the proxy's service credential, on the runtime and
 * listener `argus serve` and the standalone apdp use.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARGUS_CONFIG_FILE, startDecisionRuntime, type DecisionRuntime } from '@argus/apdp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteUsageSink } from './remote-usage.ts';
import { STARTER_CEDAR_DIR } from './testing/starter-decision-point.ts';

const ADMIN = 'remote-usage-admin-0123456789';
const PROXY_TOKEN = 'remote-usage-proxy-0123456789';
const APP_TOKEN = 'remote-usage-app-01234567890';

describe('usage reported to a remote apdp', () => {
  let dir: string;
  let runtime: DecisionRuntime;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'argus-remote-usage-'));
    const config = ARGUS_CONFIG_FILE.load({
      env: {},
      flags: {
        '/policy/dir': STARTER_CEDAR_DIR,
        '/governance/intentsFile': join(STARTER_CEDAR_DIR, 'intents.json'),
        '/store/url': `sqlite:${join(dir, 'argus.db')}`,
        '/audit/sinks': [{ type: 'sqlite', path: join(dir, 'audit.db') }],
        '/audit/spill/dir': join(dir, 'spill'),
        '/auth/adminToken': ADMIN,
        '/auth/serviceTokens': { proxy: PROXY_TOKEN, app: APP_TOKEN },
      },
    });
    runtime = await startDecisionRuntime(config);
    await runtime.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await runtime.storage.registry.createAgent({ id: 'bot', name: 'bot', owner: 'alice', kind: 'assistant', trust: 'trusted' }, 'test');
    server = createServer(runtime.apdp.listener).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const goal = await fetch(`${url}/v1/goals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'g-remote',
        onBehalfOf: 'alice',
        objective: 'answer',
        intents: ['answer-customer'],
        agents: ['bot'],
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        budget: { maxCostUsd: 0.01 },
      }),
    });
    expect(goal.status, await goal.clone().text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    for (const c of [...(runtime?.closers ?? [])].reverse()) await c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const used = async () =>
    (
      (await (await fetch(`${url}/v1/goals/g-remote`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
        usage: { used: unknown; remaining: unknown };
      }
    ).usage;

  it('charges the tokens and the USD cost to the goal with the proxy service credential', async () => {
    const sink = createRemoteUsageSink({ url, token: PROXY_TOKEN, timeoutMs: 2000 });
    await sink.reportUsage({ goal: 'g-remote', agent: 'bot', tokens: 1500, costUsd: 0.00725, decisionId: 'd-1' });
    expect(await used()).toEqual({ used: { actions: 0, tokens: 1500, costUsd: 0.00725 }, remaining: { costUsd: 0.00275 } });
  });

  it('is refused for an agent the goal does not list, for another service and without a credential', async () => {
    const report = { goal: 'g-remote', agent: 'stranger', tokens: 10, costUsd: 1 };
    await expect(createRemoteUsageSink({ url, token: PROXY_TOKEN, timeoutMs: 2000 }).reportUsage(report)).rejects.toThrow(/answered 404/);
    await expect(
      createRemoteUsageSink({ url, token: APP_TOKEN, timeoutMs: 2000 }).reportUsage({ ...report, agent: 'bot' }),
    ).rejects.toThrow(/answered 404/);
    await expect(createRemoteUsageSink({ url, timeoutMs: 2000 }).reportUsage({ ...report, agent: 'bot' })).rejects.toThrow(/answered 401/);
    await expect(createRemoteUsageSink({ url: 'http://127.0.0.1:9', timeoutMs: 500 }).reportUsage(report)).rejects.toThrow(/unreachable/);
    expect((await used()).used).toEqual({ actions: 0, tokens: 1500, costUsd: 0.00725 });
  });
});
