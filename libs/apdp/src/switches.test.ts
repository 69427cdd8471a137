/**
 * Switches through the public HTTP API of `apdp` main (the real runtime: SQLite store, the
 * permission table, the starter policies in `cedar/`): stop an agent, a tool, a server and
 * everything, resume, bad input, who may change them, and failing closed when the switch store
 * cannot be read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { badCredentials, matrixAuthConfig, matrixCallers, MATRIX_TOKENS, startMatrixIdp, type MatrixIdp } from '@argus/platform/testing';
import { MemorySwitchStore, type SwitchRecord } from '@argus/store';
import request from 'supertest';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';
import { SwitchBoard } from './switches.ts';
import { startHarness, type Harness } from './testing/harness.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'argus-switches-'));
const ADMIN = `Bearer ${MATRIX_TOKENS.admin}`;
const INTENT = 'lookup-order-status';
const tool = (id: string) => ({ type: 'Tool', id, attributes: { sensitivity: 'internal', allowedIntents: [INTENT] } });

interface Result {
  allow: boolean;
  decision: string;
  codes?: string[];
  summary?: string;
  facts?: { switch?: SwitchRecord };
}

let idp: MatrixIdp;
let running: RunningApdp;

async function call(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = ADMIN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${running.url}${path}`, {
    method,
    headers: { ...(authorization ? { authorization } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function decide(
  agent: string,
  resource: Record<string, unknown> = tool('github/create_issue'),
  extra: Record<string, unknown> = {},
): Promise<Result> {
  const r = await call('POST', '/v1/authorize', {
    input: { principal: { type: 'Agent', id: agent }, action: 'tool:call', resource, intent: INTENT, ...extra },
  });
  expect(r.status).toBe(200);
  return (r.body as { result: Result }).result;
}

beforeAll(async () => {
  idp = await startMatrixIdp();
  const file = join(dir, 'apdp.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
      policy: { dir: join(ROOT, 'cedar'), watch: false },
      governance: { intentsFile: join(ROOT, 'cedar/intents.json') },
      auth: matrixAuthConfig(idp, 'required'),
      store: { url: `sqlite:${join(dir, 'argus.db')}` },
      audit: { sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }], spill: { dir: join(dir, 'spill') } },
      logging: { level: 'silent' },
    }),
  );
  running = await startApdp(loadApdpConfig(file, {}));
  const registry = running.runtime.storage.registry;
  await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  for (const id of ['bot-a', 'bot-b', 'planner']) await registry.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
}, 60_000);

afterAll(async () => {
  await running?.shutdown.run();
  await idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('switches through the HTTP API (starter policies)', () => {
  it('both agents are allowed before anything is stopped; nothing is listed', async () => {
    expect((await decide('bot-a')).allow).toBe(true);
    expect((await decide('bot-b')).allow).toBe(true);
    const list = await call('GET', '/v1/switches');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ switches: [], snapshot: { fresh: true } });
    const ready = (await (await fetch(`${running.url}/readyz`)).json()) as { checks: Array<{ name: string; ok: boolean }> };
    expect(ready.checks.find((c) => c.name === 'switches')).toMatchObject({ ok: true });
  });

  it('stops one agent: its decisions deny `switch_stopped` with the reason, the other agent is allowed; resume allows it again', async () => {
    const stop = await call('PUT', '/v1/switches/agent/bot-a', { reason: 'ticket 881: sending mail in a loop' });
    expect(stop.status).toBe(200);
    expect(stop.body.switch).toMatchObject({
      scope: 'agent',
      id: 'bot-a',
      stopped: true,
      by: 'admin',
      reason: 'ticket 881: sending mail in a loop',
    });

    const denied = await decide('bot-a');
    expect(denied).toMatchObject({ allow: false, decision: 'deny', codes: ['switch_stopped'] });
    expect(denied.summary).toMatch(
      /^hard deny: switch_stopped — agent `bot-a` is stopped by admin at .*: ticket 881: sending mail in a loop$/,
    );
    expect(denied.facts?.switch).toMatchObject({ scope: 'agent', id: 'bot-a' });
    expect((await decide('bot-b')).allow).toBe(true);
    // A sub-agent acting on the stopped agent's authority is stopped too (checked before the chain).
    const sub = await decide('bot-b', tool('github/create_issue'), {
      delegation: [
        { type: 'Human', id: 'alice' },
        { type: 'Agent', id: 'bot-a' },
        { type: 'Agent', id: 'bot-b' },
      ],
    });
    expect(sub.codes).toEqual(['switch_stopped']);

    const list = await call('GET', '/v1/switches');
    expect((list.body.switches as SwitchRecord[]).map((s) => `${s.scope}:${s.id}`)).toEqual(['agent:bot-a']);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toContain('argus_switches_stopped{scope="agent"} 1');
    expect(metrics).toContain('argus_switches_stopped{scope="all"} 0');
    expect(metrics).toMatch(/argus_switches_snapshot_age_seconds \d/);

    const resume = await call('DELETE', '/v1/switches/agent/bot-a');
    expect(resume.status).toBe(200);
    expect(resume.body.resumed).toMatchObject({ scope: 'agent', id: 'bot-a' });
    expect((await decide('bot-a')).allow).toBe(true);
    expect((await call('DELETE', '/v1/switches/agent/bot-a')).status).toBe(404);
  });

  it('stops a tool (slash as is, or encoded): every agent is denied on it, other tools stay allowed', async () => {
    expect((await call('PUT', '/v1/switches/tool/github%2Fcreate_issue', { reason: 'spam issues' })).status).toBe(200);
    for (const agent of ['bot-a', 'bot-b']) {
      const r = await decide(agent);
      expect(r.codes).toEqual(['switch_stopped']);
      expect(r.summary).toContain('tool `github/create_issue` is stopped');
      expect((await decide(agent, tool('github/search_issues'))).allow).toBe(true);
    }
    expect((await call('DELETE', '/v1/switches/tool/github/create_issue')).status).toBe(200);
    expect((await decide('bot-a')).allow).toBe(true);
  });

  it('stops a whole MCP server: all its tools', async () => {
    expect((await call('PUT', '/v1/switches/server/github', { reason: 'token leaked' })).status).toBe(200);
    expect((await decide('bot-a', tool('github/search_issues'))).codes).toEqual(['switch_stopped']);
    expect((await decide('bot-b', tool('github/create_issue'))).summary).toContain('server `github` is stopped');
    expect((await decide('bot-a', tool('jira/search'))).allow).toBe(true);
    expect((await call('DELETE', '/v1/switches/server/github')).status).toBe(200);
    expect((await decide('bot-a', tool('github/search_issues'))).allow).toBe(true);
  });

  it('a stopped server stops every item the proxy names `<server>/...` (tool, resource, prompt) and the server itself, in both type spellings', async () => {
    const items: Array<[string, Record<string, unknown>]> = [
      ['resource:read', { type: 'Resource', id: 'files/file:///etc' }],
      ['resource:read', { type: 'Argus::Resource', id: 'files/file:///etc/{name}' }],
      ['prompt:get', { type: 'Prompt', id: 'files/p1' }],
      ['prompt:get', { type: 'Argus::Prompt', id: 'files/p1' }],
      ['tool:call', { type: 'Argus::Tool', id: 'files/read' }],
      ['mcp:connect', { type: 'McpServer', id: 'files' }],
      ['mcp:connect', { type: 'Argus::McpServer', id: 'files' }],
    ];
    const ask = async (action: string, resource: Record<string, unknown>) => {
      const r = await call('POST', '/v1/authorize', {
        input: { principal: { type: 'Agent', id: 'bot-a' }, action, resource, intent: INTENT },
      });
      expect(r.status).toBe(200);
      return (r.body as { result: Result }).result;
    };
    expect((await call('PUT', '/v1/switches/server/files', { reason: 'exfiltration' })).status).toBe(200);
    for (const [action, resource] of items) {
      const r = await ask(action, resource);
      expect(r.codes, `${action} ${String(resource.type)}::${String(resource.id)}`).toEqual(['switch_stopped']);
      expect(r.summary).toContain('server `files` is stopped');
    }
    // Another server's items, and an id that only starts with the server's name, are not covered.
    expect((await ask('resource:read', { type: 'Resource', id: 'files2/file:///etc' })).codes ?? []).not.toContain('switch_stopped');
    expect((await ask('prompt:get', { type: 'Prompt', id: 'jira/p1' })).codes ?? []).not.toContain('switch_stopped');
    expect((await call('DELETE', '/v1/switches/server/files')).status).toBe(200);
    for (const [action, resource] of items) expect((await ask(action, resource)).codes ?? []).not.toContain('switch_stopped');
  });

  it('stops everything at once, whatever the action, then resumes', async () => {
    expect((await call('PUT', '/v1/switches/all', { reason: 'incident 12' })).status).toBe(200);
    expect((await decide('bot-a', tool('jira/search'))).summary).toContain('everything is stopped by admin');
    const model = await call('POST', '/v1/authorize', {
      input: { principal: { type: 'Agent', id: 'bot-b' }, action: 'llm:invoke', resource: { type: 'Model', id: 'gpt-4o' } },
    });
    expect((model.body as { result: Result }).result.codes).toEqual(['switch_stopped']);
    // The OPA Data API decides through the same service.
    const data = await call('POST', '/v1/data/argus/allow', {
      input: { principal: { type: 'Agent', id: 'bot-a' }, action: 'tool:call', resource: tool('jira/search'), intent: INTENT },
    });
    expect(data.body.result).toBe(false);
    expect((await call('DELETE', '/v1/switches/all')).status).toBe(200);
    expect((await decide('bot-a', tool('jira/search'))).allow).toBe(true);
  });

  it('refuses bad input with a 4xx naming the path', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['PUT', '/v1/switches/colour/x', { reason: 'r' }, 400, '/scope'],
      ['PUT', '/v1/switches/tool/create_issue', { reason: 'r' }, 400, '/id'],
      ['PUT', '/v1/switches/tool/a/b/c', { reason: 'r' }, 400, '/id'],
      ['PUT', '/v1/switches/agent/a/b', { reason: 'r' }, 400, '/id'],
      ['PUT', '/v1/switches/agent/%20bot', { reason: 'r' }, 400, '/id'],
      ['PUT', '/v1/switches/agent/bot-a', {}, 400, '/reason'],
      ['PUT', '/v1/switches/agent/bot-a', { reason: '   ' }, 400, '/reason'],
      ['PUT', '/v1/switches/agent/bot-a', { reason: 'x'.repeat(501) }, 400, '/reason'],
      ['PUT', '/v1/switches/agent/bot-a', { reason: 'r', until: 'tomorrow' }, 400, '/until'],
      ['PUT', '/v1/switches/all', [], 400, ''],
      ['DELETE', '/v1/switches/agent/nobody', undefined, 404, ''],
    ];
    for (const [method, path, body, status, at] of cases) {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(typeof r.body.code).toBe('string');
      if (status === 400)
        expect(
          (r.body.errors as Array<{ path: string }>).map((e) => e.path),
          `${method} ${path}`,
        ).toEqual([at]);
    }
    expect((await call('GET', '/v1/switches')).body.switches).toEqual([]);
  });

  it('only an admin reads or changes switches: every other caller 403, bad credentials 401', async () => {
    const routes: Array<[string, string, unknown]> = [
      ['GET', '/v1/switches', undefined],
      ['PUT', '/v1/switches/all', { reason: 'r' }],
      ['DELETE', '/v1/switches/all', undefined],
      ['PUT', '/v1/switches/agent/bot-a', { reason: 'r' }],
      ['DELETE', '/v1/switches/agent/bot-a', undefined],
      ['PUT', '/v1/switches/tool/github/create_issue', { reason: 'r' }],
    ];
    const callers = (await matrixCallers(idp)).filter((c) => c.principal.kind !== 'admin');
    expect(callers.map((c) => c.name)).toEqual(
      expect.arrayContaining(['human', 'agent', 'service', 'scanner', 'human with policy-author', 'human with auditor']),
    );
    for (const [method, path, body] of routes) {
      for (const c of callers) expect((await call(method, path, body, c.authorization)).status, `${c.name} ${method} ${path}`).toBe(403);
      for (const b of await badCredentials(idp))
        expect((await call(method, path, body, b.authorization ?? null)).status, `${b.name} ${method} ${path}`).toBe(401);
    }
    expect((await call('GET', '/v1/switches')).body.switches).toEqual([]);
    expect((await decide('bot-a')).allow).toBe(true);
  }, 60_000);
});

describe('a chain known only to governance (a delegation token)', () => {
  let h: Harness;
  const store = new MemorySwitchStore();
  const board = new SwitchBoard({ store, logger: silentLogger() });
  const planner = { uid: { type: 'Argus::Agent', id: 'planner' }, attrs: {}, parents: [] };

  beforeAll(async () => {
    // Governance as it answers for a verified token whose chain runs alice → planner → support-bot.
    h = await startHarness({
      switches: board,
      governance: async () => ({
        principalParents: [planner.uid],
        entities: [planner],
        context: { intent: INTENT, delegation: { depth: 2, scope: [] } },
        facts: {},
      }),
    });
    await h.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await h.storage.registry.createAgent({ id: 'support-bot', name: 'support-bot', owner: 'alice', trust: 'trusted' }, 'test');
    await board.start();
  });
  afterAll(async () => {
    board.close();
    await h.close();
  });

  it('stopping an agent of the resolved chain stops the decision, though the request names no chain', async () => {
    const ask = async () =>
      (
        await request(h.listener)
          .post('/v1/authorize')
          .send({
            input: {
              principal: { type: 'Agent', id: 'support-bot' },
              action: 'tool:call',
              resource: tool('crm/search'),
              intent: INTENT,
              delegationToken: 'opaque',
            },
          })
      ).body.result as Result;
    expect((await ask()).allow).toBe(true);
    await store.stop({ scope: 'agent', id: 'planner', reason: 'compromised', by: 'admin' });
    await board.refresh();
    const r = await ask();
    expect(r.codes).toEqual(['switch_stopped']);
    expect(r.summary).toContain('agent `planner` is stopped');
  });
});

describe('failing closed when the switches cannot be read', () => {
  let h: Harness;
  let broken = false;
  let clock = 0;
  const store = new MemorySwitchStore();
  const flaky = {
    ...store,
    list: () => (broken ? Promise.reject(new Error('switch store unavailable')) : store.list()),
    get: store.get.bind(store),
    stop: store.stop.bind(store),
    resume: store.resume.bind(store),
  };
  const board = new SwitchBoard({ store: flaky, maxStaleMs: 1_000, reloadMs: 60_000, now: () => clock, logger: silentLogger() });

  const ask = async () =>
    (
      await request(h.listener)
        .post('/v1/authorize')
        .send({
          input: { principal: { type: 'Agent', id: 'support-bot' }, action: 'tool:call', resource: tool('crm/search'), intent: INTENT },
        })
    ).body.result as Result;

  beforeAll(async () => {
    h = await startHarness({ switches: board, metrics: createMetricsRegistry({ defaultMetrics: false }) });
    await h.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    await h.storage.registry.createAgent({ id: 'support-bot', name: 'support-bot', owner: 'alice', trust: 'trusted' }, 'test');
  });
  afterAll(async () => {
    board.close();
    await h.close();
  });

  it('denies every decision before the first successful read', async () => {
    const r = await ask();
    expect(r).toMatchObject({ allow: false, codes: ['switches_unavailable'] });
  });

  it('decides normally once read; keeps deciding on the last snapshot within the bound; denies past it; recovers', async () => {
    await board.start();
    expect((await ask()).allow).toBe(true);
    broken = true;
    clock += 500;
    await board.refresh();
    expect((await ask()).allow).toBe(true);
    expect(board.state()).toMatchObject({ fresh: true, error: 'switch store unavailable' });
    clock += 501;
    const r = await ask();
    expect(r).toMatchObject({ allow: false, codes: ['switches_unavailable'] });
    expect(r.summary).toContain('switches could not be read for more than 1000 ms: switch store unavailable');
    broken = false;
    await board.refresh();
    expect((await ask()).allow).toBe(true);
  });

  it('a stop read from the store applies at the next refresh; an unreadable store never lifts it', async () => {
    await store.stop({ scope: 'agent', id: 'support-bot', reason: 'drill', by: 'admin' });
    await board.refresh();
    expect((await ask()).codes).toEqual(['switch_stopped']);
    await store.resume('agent', 'support-bot');
    broken = true;
    await board.refresh();
    expect((await ask()).codes).toEqual(['switch_stopped']);
    clock += 1_001;
    expect((await ask()).codes).toEqual(['switches_unavailable']);
    broken = false;
    await board.refresh();
    expect((await ask()).allow).toBe(true);
  });
});

describe('SwitchBoard.check: what a server switch covers', () => {
  const store = new MemorySwitchStore();
  const board = new SwitchBoard({ store, logger: silentLogger() });
  const check = (type: string, id: string) => {
    const verdict = board.check({ principal: { type: 'Agent', id: 'bot' }, action: 'x', resource: { type, id } });
    return verdict?.code === 'switch_stopped' ? verdict.switch.id : verdict?.code;
  };

  beforeAll(async () => {
    await store.stop({ scope: 'server', id: 'files', reason: 'r', by: 'admin' });
    await board.start();
  });
  afterAll(() => board.close());

  it('stops `Tool`, `Resource` and `Prompt` named `<server>/...` and the `McpServer`, with or without `Argus::`', () => {
    for (const type of ['Tool', 'Resource', 'Prompt'])
      for (const spelled of [type, `Argus::${type}`]) expect(check(spelled, 'files/a/b'), spelled).toBe('files');
    expect(check('McpServer', 'files')).toBe('files');
    expect(check('Argus::McpServer', 'files')).toBe('files');
  });

  it('leaves other servers, other types and ids without a server part alone', () => {
    expect(check('Resource', 'other/file:///etc')).toBeUndefined();
    expect(check('Prompt', 'files')).toBeUndefined();
    expect(check('Resource', '/files')).toBeUndefined();
    expect(check('Api', 'files/x')).toBeUndefined();
    expect(check('Other::Resource', 'files/x')).toBeUndefined();
  });
});
