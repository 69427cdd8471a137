import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { validatorFor } from '@argus/contracts';
import { InvalidInputError } from '@argus/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cedarDecisionPoint } from './testing/cedar-decision-point.ts';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES, INTRUDER_TOKEN, TEST_POLICIES } from './testing/policies.ts';
import { mcpUpstream, type TestUpstream } from './testing/upstreams.ts';

let upstream: TestUpstream & { invoked: string[] };
let proxy: RunningProxy;
const dp = cedarDecisionPoint({
  ...TEST_POLICIES,
  'intruder-connect': {
    text: 'forbid(principal == Agent::"intruder", action == Action::"mcp:connect", resource);',
    reason: 'intruder may not use MCP',
  },
});

beforeAll(async () => {
  upstream = await mcpUpstream();
  proxy = await startProxy({
    decisionPoint: dp,
    secrets: { 'mcp-key': CANARIES.mcp },
    tokens: { bot: BOT_TOKEN, intruder: INTRUDER_TOKEN },
    config: {
      decision: { timeoutMs: 500 },
      upstreams: [{ name: 'tools', kind: 'mcp', prefix: '/mcp/tools', target: `${upstream.url}/mcp`, credential: { name: 'mcp-key' } }],
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
});

/** A JSON-RPC POST to the MCP upstream under `sessionId`, as a streamable-HTTP client sends it. */
function postInSession(token: string, sessionId: string, protocolVersion: string, body: unknown): Promise<Response> {
  return fetch(`${proxy.url}/mcp/tools`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': protocolVersion,
    },
    body: JSON.stringify(body),
  });
}

async function connect(token = BOT_TOKEN): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/tools`), {
    requestInit: { headers: { authorization: `Bearer ${token}`, 'x-argus-intent': 'triage', 'x-argus-goal': 'goal-mcp' } },
  });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

describe('MCP through the real MCP SDK client and server (streamable HTTP)', () => {
  it('decides mcp:connect on initialize and lets listing through; the server sees the injected credential', async () => {
    const { client } = await connect();
    const tools = await client.listTools();
    // Filtered item by item: the test policies forbid `delete`, so it is not listed.
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['count', 'echo']);
    expect(dp.calls.some((c) => c.action === 'mcp:connect' && c.resource.id === 'tools')).toBe(true);
    // Listing names no tool: it is decided as session traffic (mcp:connect), never passed undecided.
    expect(dp.calls.some((c) => c.action === 'mcp:connect' && c.context?.mcpMethod === 'tools/list')).toBe(true);
    const posts = upstream.seen.filter((s) => s.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    for (const s of posts) {
      // The prefix itself goes up to the target's path as written (`/mcp`, not `/mcp/`).
      expect(s.url).toBe('/mcp');
      expect(s.headers.authorization).toBe(`Bearer ${CANARIES.mcp}`);
      expect(JSON.stringify(s.headers)).not.toContain(BOT_TOKEN);
    }
    await client.close();
  });

  it('allows one tool and denies another in the same session; the denied call never reaches the server', async () => {
    const { client, transport } = await connect();
    const sessionId = transport.sessionId;
    expect(sessionId).toBeTruthy();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'ping' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'echo: ping' }]);
    const denied = await client.callTool({ name: 'delete', arguments: { target: 'prod' } }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(McpError);
    expect((denied as McpError).code).toBe(-32001);
    expect((denied as McpError).message).toContain('deleting is never delegated to agents');
    const data = (denied as McpError).data as { decision_id: string; codes: string[]; reasons?: unknown };
    expect(data.codes).toEqual(['policy_forbid']);
    // Policy ids and annotations are for `denyDetail: full` only.
    expect(data.reasons).toBeUndefined();
    expect((denied as McpError).message).toContain(`decision ${data.decision_id}`);
    expect(upstream.invoked).not.toContain('delete');
    expect(upstream.seen.some((s) => s.body.includes('"delete"') && s.body.includes('tools/call'))).toBe(false);
    // The session still works after a denial.
    const again = await client.callTool({ name: 'echo', arguments: { text: 'still here' } });
    expect(again.content).toEqual([{ type: 'text', text: 'echo: still here' }]);
    expect(transport.sessionId).toBe(sessionId);
    await eventually(() => proxy.events.some((e) => e.decisionId === data.decision_id));
    expect(proxy.events.find((e) => e.decisionId === data.decision_id)).toMatchObject({
      input: { action: 'tool:call', resource: { type: 'Tool', id: 'tools/delete' }, intent: 'triage', goal: 'goal-mcp' },
      result: { allow: false },
      proxy: { upstream: 'tools', error: 'denied' },
    });
    const allowed = proxy.events.find((e) => e.input.resource.id === 'tools/echo');
    expect(allowed?.proxy).toMatchObject({ upstream: 'tools', status: 200, credentialName: 'mcp-key' });
    await client.close();
  });

  it('streams a tool call whose progress arrives as server-sent events before the result', async () => {
    const { client } = await connect();
    const progress: number[] = [];
    const result = await client.callTool({ name: 'count', arguments: { n: 4 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(result.content).toEqual([{ type: 'text', text: 'counted to 4' }]);
    await client.close();
  });

  it('decides resources/read per resource', async () => {
    const { client } = await connect();
    const readme = await client.readResource({ uri: 'file:///readme.md' });
    expect(readme.contents[0]).toMatchObject({ text: '# readme' });
    await expect(client.readResource({ uri: 'file:///secret.md' })).rejects.toMatchObject({ code: -32001 });
    expect(dp.calls.some((c) => c.action === 'resource:read' && c.resource.id === 'tools/file:///secret.md')).toBe(true);
    await client.close();
  });

  it('refuses initialize for an agent the policy forbids, and a session opened by another agent', async () => {
    await expect(connect(INTRUDER_TOKEN)).rejects.toThrow(/intruder may not use MCP/);
    const { client, transport } = await connect();
    const res = await postInSession(INTRUDER_TOKEN, transport.sessionId!, '2025-06-18', { jsonrpc: '2.0', id: 9, method: 'tools/list' });
    expect(res.status).toBe(403);
    await client.close();
  });

  it('answers 404 for a session it did not see opened (a restart, another replica), even one the server knows', async () => {
    // Opened at the server directly: the proxy has no owner for it, as after a restart.
    const direct = new StreamableHTTPClientTransport(new URL(`${upstream.url}/mcp`));
    const elsewhere = new Client({ name: 'elsewhere', version: '1.0.0' });
    await elsewhere.connect(direct);
    const before = upstream.seen.length;
    const res = await postInSession(BOT_TOKEN, direct.sessionId!, '2025-06-18', {
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x' } },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { codes: string[] }).codes).toEqual(['mcp_session_not_decided']);
    // (The direct client's own traffic may still arrive: only the call through the proxy counts.)
    expect(upstream.seen.slice(before).filter((s) => s.body.includes('tools/call'))).toEqual([]);
    await elsewhere.close();
  });

  it('answers a batch with partial denial: denied errors merged with the upstream answers', async () => {
    const { client, transport } = await connect();
    const before = upstream.invoked.length;
    const res = await postInSession(BOT_TOKEN, transport.sessionId!, '2025-03-26', [
      { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'delete', arguments: { target: 'x' } } },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'echo', arguments: { text: 'batched' } } },
      { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: {} },
    ]);
    expect(res.status).toBe(200);
    const text = await res.text();
    const messages = parseAnswer(res.headers.get('content-type') ?? '', text);
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect(byId.get('a')?.error?.code).toBe(-32001);
    expect(validatorFor('https://argus.dev/schemas/proxy/mcp-denied-error.json')(byId.get('a'))).toMatchObject({ ok: true });
    expect(byId.get('c')?.error?.code).toBe(-32602);
    expect(byId.get('b')?.result).toEqual({ content: [{ type: 'text', text: 'echo: batched' }] });
    expect(upstream.invoked.slice(before)).not.toContain('delete');
    await client.close();
  });

  it('refuses a tool, resource or prompt name the decision could not name as invalid params, not as an outage', async () => {
    const { client } = await connect();
    const invoked = upstream.invoked.length;
    for (const name of ['echo ', ' echo', 'echo\n', 'ec\u0000ho']) {
      const err = await client.callTool({ name, arguments: { text: 'x' } }).catch((e: unknown) => e);
      expect((err as { code?: number }).code, JSON.stringify(name)).toBe(-32602);
    }
    const resource = await client.readResource({ uri: 'file:///readme.md ' }).catch((e: unknown) => e);
    expect((resource as { code?: number }).code).toBe(-32602);
    const lone = await client.callTool({ name: 'echo', arguments: { '\ud800': 1 } }).catch((e: unknown) => e);
    expect((lone as { code?: number }).code).toBe(-32602);
    const prompt = await client.getPrompt({ name: 'patient\t' }).catch((e: unknown) => e);
    expect((prompt as { code?: number }).code).toBe(-32602);
    expect(upstream.invoked.length).toBe(invoked);
    expect(proxy.logs.join('')).not.toContain('decision unavailable');
    await client.close();
  });

  it('answers -32602 when the decision point refuses a call’s input itself, recorded and never forwarded, not an outage', async () => {
    const { client } = await connect();
    const invoked = upstream.invoked.length;
    const decide = dp.decide.bind(dp);
    dp.decide = async (input, options) => {
      if (input.action === 'tool:call')
        throw new InvalidInputError('invalid value at `/input/context/tool`', [{ path: '/input/context/tool', message: 'bad' }]);
      return decide(input, options);
    };
    try {
      const err = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).catch((e: unknown) => e);
      expect((err as { code?: number }).code).toBe(-32602);
    } finally {
      dp.decide = decide;
    }
    expect(upstream.invoked.length).toBe(invoked);
    expect(proxy.logs.join('')).not.toContain('decision unavailable');
    await client.close();
  });

  it('answers malformed JSON-RPC with a JSON-RPC error and forwards nothing', async () => {
    const before = upstream.seen.length;
    // Bytes that are not UTF-8 too: they would be decided as U+FFFD while the server reads the bytes.
    const notUtf8 = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"look'),
      Buffer.from([0xff]),
      Buffer.from('"}}'),
    ]);
    // Nesting past `limits.maxJsonDepth` (64): the server's own parser might recurse on it.
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"a":${'['.repeat(100)}${']'.repeat(100)}}}}`;
    // A key named twice: decided on the last (`echo`, `ping`), a first-wins server would run `delete`.
    const twiceName = '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete","name":"echo","arguments":{"text":"x"}}}';
    const twiceMethod = '{"jsonrpc":"2.0","id":3,"method":"tools/call","method":"ping","params":{"name":"delete"}}';
    const escaped = '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"n\\u0061me":"delete","name":"echo"}}';
    const folded = '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","NAME":"delete","arguments":{"text":"x"}}}';
    for (const body of [
      '{not json',
      '[]',
      '{"jsonrpc":"1.0","id":1,"method":"x"}',
      notUtf8,
      deep,
      twiceName,
      twiceMethod,
      escaped,
      folded,
    ]) {
      const res = await fetch(`${proxy.url}/mcp/tools`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: number; message: string } };
      expect(error.code).toBeLessThan(-32000);
      if (body === twiceMethod) expect(error.message).toContain('`/method` is named twice');
      else if (body === twiceName || body === escaped) expect(error.message).toContain('`/params/name` is named twice');
      else if (body === folded) expect(error.message).toContain('`/params/NAME` is named twice');
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('leaks the credential nowhere', async () => {
    const all = [proxy.logs.join(''), JSON.stringify(proxy.events)];
    for (const text of all) expect(text).not.toContain(CANARIES.mcp);
  });
});

function parseAnswer(type: string, text: string): Array<{ id: unknown; result?: unknown; error?: { code: number } }> {
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
