import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { hashTools } from '@argus/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES } from './testing/policies.ts';
import { seedTrustedBot, starterDecisionPoint, type StarterDecisionPoint } from './testing/starter-decision-point.ts';
import { mcpUpstream, type TestUpstream } from './testing/upstreams.ts';

// Issue 16 item 1: the registry's tool record carries sensitivity and allowedIntents, the decision
// service gives them to Cedar, and the SHIPPED starter policies allow an MCP tool call end to end.
let upstream: TestUpstream & { invoked: string[] };
let starter: StarterDecisionPoint;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await mcpUpstream();
  starter = await starterDecisionPoint();
  const r = starter.storage.registry;
  await seedTrustedBot(starter);
  await r.createMcpServer(
    {
      id: 'tools',
      name: 'tools',
      url: `${upstream.url}/mcp`,
      trust: 'trusted',
      tools: hashTools([
        {
          name: 'echo',
          description: 'echo the text',
          inputSchema: { type: 'object' },
          sensitivity: 'internal',
          allowedIntents: ['lookup-order-status'],
        },
        {
          name: 'delete',
          description: 'delete everything',
          inputSchema: { type: 'object' },
          sensitivity: 'secret',
          allowedIntents: ['lookup-order-status'],
        },
      ]),
    },
    'test',
  );
  proxy = await startProxy({
    decisionPoint: starter.decisionPoint,
    secrets: { 'mcp-key': CANARIES.mcp },
    tokens: { bot: BOT_TOKEN },
    config: {
      decision: { timeoutMs: 2000 },
      upstreams: [{ name: 'tools', kind: 'mcp', prefix: '/mcp/tools', target: `${upstream.url}/mcp`, credential: { name: 'mcp-key' } }],
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
  await starter?.close();
});

async function connect(intent: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp/tools`), {
    requestInit: { headers: { authorization: `Bearer ${BOT_TOKEN}`, 'x-argus-intent': intent } },
  });
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('an MCP tool call under the starter policies, with the official MCP client', () => {
  it('is allowed for an intent the tool serves, with the registry attributes given to Cedar', async () => {
    const client = await connect('lookup-order-status');
    const out = await client.callTool({ name: 'echo', arguments: { text: 'order 42' } });
    expect(out.content).toEqual([{ type: 'text', text: 'echo: order 42' }]);
    expect(upstream.invoked).toContain('echo');
    await eventually(() => proxy.events.some((e) => e.input.resource.id === 'tools/echo' && e.proxy?.status === 200));
    const record = proxy.events.find((e) => e.input.resource.id === 'tools/echo' && e.result.allow)!;
    expect(record.result.reasons.map((r) => r.policy)).toContain('tools-serve-their-intents');
    await client.close();
  });

  it('is denied for an intent the tool does not serve, and a secret tool is denied with its reason', async () => {
    const client = await connect('answer-customer');
    const other = await client.callTool({ name: 'echo', arguments: { text: 'x' } }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(McpError);
    expect((other as McpError).message).toMatch(/no permit \(decision [0-9a-f-]{36}\)/);
    await client.close();
    const again = await connect('lookup-order-status');
    const secret = await again.callTool({ name: 'delete', arguments: { target: 'x' } }).catch((e: unknown) => e);
    expect((secret as McpError).message).toContain('secret tools need an agent with clearance high');
    expect(upstream.invoked).not.toContain('delete');
    await again.close();
  });
});
