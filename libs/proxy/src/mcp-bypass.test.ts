import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { validatorFor } from '@argus/contracts';
import { hashTools } from '@argus/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES } from './testing/policies.ts';
import { seedTrustedBot, starterDecisionPoint, type StarterDecisionPoint } from './testing/starter-decision-point.ts';
import { mcpUpstream, type TestUpstream } from './testing/upstreams.ts';

// Nothing passes the proxy undecided (issue 15 item 5), tried as an attacker would, against the
// SHIPPED starter policies and the real decision service with a registry: `bot` is registered
// and trusted, `ghost` holds a valid proxy token but the registry has never seen it.
const GHOST_TOKEN = 'argus_ghost_token_5e6f7a8b9c';
let upstream: TestUpstream & { invoked: string[] };
let starter: StarterDecisionPoint;
let proxy: RunningProxy;
let endpoint: string;

beforeAll(async () => {
  upstream = await mcpUpstream();
  starter = await starterDecisionPoint();
  const r = starter.storage.registry;
  await seedTrustedBot(starter);
  await r.createMcpServer({ id: 'tools', name: 'tools', url: `${upstream.url}/mcp`, trust: 'trusted', tools: hashTools([]) }, 'test');
  proxy = await startProxy({
    decisionPoint: starter.decisionPoint,
    secrets: { 'mcp-key': CANARIES.mcp },
    tokens: { bot: BOT_TOKEN, ghost: GHOST_TOKEN },
    config: {
      decision: { timeoutMs: 2000 },
      upstreams: [{ name: 'tools', kind: 'mcp', prefix: '/mcp/tools', target: `${upstream.url}/mcp`, credential: { name: 'mcp-key' } }],
    },
  });
  endpoint = `${proxy.url}/mcp/tools`;
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
  await starter?.close();
});

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };

function post(token: string, body: unknown, session?: string): Promise<Response> {
  return fetch(endpoint, {
    method: 'POST',
    headers: { ...HEADERS, authorization: `Bearer ${token}`, ...(session ? { 'mcp-session-id': session } : {}) },
    body: JSON.stringify(body),
  });
}

/** Opens a session as `bot` with the real MCP client (a decided `initialize`). */
async function session(): Promise<{ client: Client; id: string }> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
    requestInit: { headers: { authorization: `Bearer ${BOT_TOKEN}` } },
  });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  const id = transport.sessionId!;
  // The client opens its GET event stream on its own after connecting: let it arrive first.
  await eventually(() => upstream.seen.some((s) => s.method === 'GET' && s.headers['mcp-session-id'] === id));
  return { client, id };
}

/** Opens a session as `bot` by hand (initialize, initialized), with no event stream open yet. */
async function rawSession(): Promise<string> {
  const init = await post(BOT_TOKEN, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  expect(init.status).toBe(200);
  const id = init.headers.get('mcp-session-id')!;
  await init.text();
  expect((await post(BOT_TOKEN, { jsonrpc: '2.0', method: 'notifications/initialized' }, id)).status).toBe(202);
  return id;
}

/** Runs `act` and checks that the upstream saw nothing meanwhile (so never the credential). */
async function unseen<T>(act: () => Promise<T>): Promise<T> {
  const before = upstream.seen.length;
  const out = await act();
  await new Promise((r) => setTimeout(r, 20));
  expect(upstream.seen.slice(before)).toEqual([]);
  return out;
}

/** The audit record of `decisionId`, once written. */
async function recordOf(decisionId: string) {
  await eventually(() => proxy.events.some((e) => e.decisionId === decisionId));
  return proxy.events.find((e) => e.decisionId === decisionId)!;
}

describe('MCP bypass attempts (starter policies, real decision service)', () => {
  it('decides a tools/call sent as a notification (no id) and refuses it; nothing reaches the server', async () => {
    const { client, id } = await session();
    const res = await unseen(() =>
      post(BOT_TOKEN, { jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { text: 'sneaky' } } }, id),
    );
    // A refused notification gets no JSON-RPC answer of its own: the POST is an HTTP error.
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      id: unknown;
      error: { code: number; message: string; data: { decision_id: string; codes: string[] } };
    };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32001 } });
    expect(body.error.message).toContain(body.error.data.decision_id);
    expect(upstream.invoked).not.toContain('echo');
    const record = await recordOf(body.error.data.decision_id);
    expect(record).toMatchObject({
      caller: { kind: 'proxy', subject: 'bot' },
      input: { action: 'tool:call', resource: { type: 'Tool', id: 'tools/echo' } },
      result: { allow: false },
      proxy: { upstream: 'tools', error: 'denied' },
    });
    await client.close();
  });

  it('refuses a notification outside the allowlist, and records it', async () => {
    const { client, id } = await session();
    const res = await unseen(() => post(BOT_TOKEN, { jsonrpc: '2.0', method: 'notifications/tools/run', params: { name: 'echo' } }, id));
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { data: { decision_id: string; codes: string[] } } };
    expect(body.error.data.codes).toEqual(['mcp_method_not_allowed']);
    const record = await recordOf(body.error.data.decision_id);
    expect(record).toMatchObject({
      result: { allow: false, codes: ['mcp_method_not_allowed'] },
      proxy: { upstream: 'tools', error: 'refused' },
    });
    await client.close();
  });

  it('refuses GET, DELETE and POST on a sub-path of the MCP upstream (404), and other methods on the endpoint (405)', async () => {
    const { client, id } = await session();
    for (const [method, path] of [
      ['GET', '/admin'],
      ['DELETE', '/admin'],
      ['POST', '/mcp'],
      ['GET', '/.well-known/x'],
      ['PUT', ''],
      ['PATCH', ''],
      ['OPTIONS', ''],
    ] as const) {
      const res = await unseen(() =>
        fetch(`${endpoint}${path}`, {
          method,
          headers: { ...HEADERS, authorization: `Bearer ${BOT_TOKEN}`, 'mcp-session-id': id },
          ...(method === 'POST' || method === 'PUT' || method === 'PATCH'
            ? { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' }
            : {}),
        }),
      );
      expect(res.status, `${method} ${path}`).toBe(path === '' ? 405 : 404);
      const body = (await res.json()) as { code: string; errors: unknown[]; decision_id: string; codes: string[] };
      expect(body).toMatchObject({
        code: path === '' ? 'method_not_allowed' : 'not_found',
        errors: [],
        codes: [path === '' ? 'mcp_method_not_allowed' : 'mcp_path_not_allowed'],
      });
      if (path === '') expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
      const record = await recordOf(body.decision_id);
      expect(record).toMatchObject({
        caller: { subject: 'bot' },
        input: { context: { httpMethod: method } },
        result: { allow: false },
        proxy: { upstream: 'tools', error: 'refused' },
      });
    }
    await client.close();
  });

  it('opens the GET event stream and ends the session only for a session that passed a decided initialize, for the same agent', async () => {
    const id = await rawSession();
    for (const sid of [undefined, 'made-up-session-id']) {
      for (const method of ['GET', 'DELETE']) {
        const res = await unseen(() =>
          fetch(endpoint, {
            method,
            headers: { accept: 'text/event-stream', authorization: `Bearer ${BOT_TOKEN}`, ...(sid ? { 'mcp-session-id': sid } : {}) },
          }),
        );
        expect(res.status, `${method} ${sid}`).toBe(404);
        const body = (await res.json()) as { codes: string[]; decision_id: string };
        expect(body.codes).toEqual(['mcp_session_not_decided']);
        expect((await recordOf(body.decision_id)).proxy).toMatchObject({ error: 'refused' });
      }
    }
    // Another agent presenting bot's session: refused before the upstream.
    const foreign = await unseen(() =>
      fetch(endpoint, {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${GHOST_TOKEN}`, 'mcp-session-id': id },
      }),
    );
    expect(foreign.status).toBe(403);
    // The owner's GET is decided (session traffic) and forwarded with the credential.
    const abort = new AbortController();
    const before = upstream.seen.length;
    const stream = await fetch(endpoint, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${BOT_TOKEN}`, 'mcp-session-id': id },
      signal: abort.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    abort.abort();
    expect(upstream.seen.slice(before).map((s) => s.method)).toEqual(['GET']);
    expect(upstream.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CANARIES.mcp}`);
    await eventually(() => proxy.events.some((e) => e.input.context?.mcpMethod === 'session/stream' && e.result.allow));
    // The owner's DELETE ends the session; the session is then unknown to the proxy too.
    const del = await fetch(endpoint, { method: 'DELETE', headers: { authorization: `Bearer ${BOT_TOKEN}`, 'mcp-session-id': id } });
    expect(del.status).toBe(200);
    await eventually(() => proxy.events.some((e) => e.input.context?.mcpMethod === 'session/end' && e.proxy?.status === 200));
    const after = await unseen(() =>
      fetch(endpoint, {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${BOT_TOKEN}`, 'mcp-session-id': id },
      }),
    );
    expect(after.status).toBe(404);
  });

  it('decides every element of a batch: the forbidden element is answered per id, the rest forwarded without it', async () => {
    const { client, id } = await session();
    const before = upstream.seen.length;
    const res = await post(
      BOT_TOKEN,
      [
        { jsonrpc: '2.0', id: 'list', method: 'tools/list' },
        { jsonrpc: '2.0', id: 'del', method: 'tools/call', params: { name: 'delete', arguments: { target: 'prod' } } },
        { jsonrpc: '2.0', id: 'odd', method: 'tools/secret_admin' },
        { jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete' } },
      ],
      id,
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    const messages = parseAnswer(res.headers.get('content-type') ?? '', text);
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect(byId.get('del')?.error?.code).toBe(-32001);
    expect(validatorFor('https://argus.dev/schemas/proxy/mcp-denied-error.json')(byId.get('del'))).toMatchObject({ ok: true });
    expect(byId.get('odd')?.error?.code).toBe(-32601);
    // The listing is filtered item by item: under the starter policies none of these tools may be called here.
    expect((byId.get('list')?.result as { tools: unknown[] }).tools).toEqual([]);
    // Only the listing went up.
    const forwarded = upstream.seen.slice(before).map((s) => JSON.parse(s.body) as unknown);
    expect(forwarded).toEqual([[{ jsonrpc: '2.0', id: 'list', method: 'tools/list' }]]);
    expect(upstream.invoked).not.toContain('delete');
    // Four records: the listing (allowed), the delete request and notification (denied), the unknown method (refused).
    const del = byId.get('del')!.error!.data as { decision_id: string };
    expect((await recordOf(del.decision_id)).proxy).toMatchObject({ error: 'denied' });
    const odd = byId.get('odd')!.error!.data as { decision_id: string };
    expect((await recordOf(odd.decision_id)).proxy).toMatchObject({ error: 'refused' });
    await eventually(() => proxy.events.filter((e) => e.input.resource.id === 'tools/delete').length >= 2);
    await eventually(() => proxy.events.some((e) => e.input.context?.mcpMethod === 'tools/list' && e.proxy?.status === 200));
    await client.close();
  });

  it('never lets an agent the registry has never seen reach the server, whatever it sends', async () => {
    const seenBefore = upstream.seen.length;
    const eventsBefore = proxy.events.length;
    const init = await post(GHOST_TOKEN, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'ghost', version: '1' } },
    });
    expect(((await init.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const call = await post(GHOST_TOKEN, { jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo' } });
    expect(call.status).toBe(403);
    const list = await post(GHOST_TOKEN, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(((await list.json()) as { error: { code: number } }).error.code).toBe(-32001);
    const get = await fetch(endpoint, { method: 'GET', headers: { accept: 'text/event-stream', authorization: `Bearer ${GHOST_TOKEN}` } });
    expect(get.status).toBe(404);
    const sub = await fetch(`${endpoint}/anything`, { method: 'DELETE', headers: { authorization: `Bearer ${GHOST_TOKEN}` } });
    expect(sub.status).toBe(404);
    await new Promise((r) => setTimeout(r, 20));
    expect(upstream.seen.slice(seenBefore)).toEqual([]);
    // Each attempt has its record, every one a refusal, under the ghost's name.
    await eventually(() => proxy.events.length - eventsBefore >= 5);
    const ghost = proxy.events.slice(eventsBefore).filter((e) => e.caller.subject === 'ghost');
    expect(ghost.length).toBe(5);
    expect(ghost.every((e) => !e.result.allow && e.proxy?.status === undefined)).toBe(true);
  });

  it('leaks the credential nowhere', () => {
    for (const text of [proxy.logs.join(''), JSON.stringify(proxy.events)]) expect(text).not.toContain(CANARIES.mcp);
  });
});

function parseAnswer(type: string, text: string): Array<{ id: unknown; result?: unknown; error?: { code: number; data?: unknown } }> {
  if (type.startsWith('application/json')) {
    const doc = JSON.parse(text) as unknown;
    return (Array.isArray(doc) ? doc : [doc]) as Array<{ id: unknown; error?: { code: number } }>;
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .flatMap((l) => {
      const doc = JSON.parse(l.slice(6)) as unknown;
      return (Array.isArray(doc) ? doc : [doc]) as Array<{ id: unknown; error?: { code: number } }>;
    });
}
