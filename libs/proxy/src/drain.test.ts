/**
 * The proxy under the platform's `Shutdown` (issue 16 item 6), in process, with the official SDKs:
 * an MCP session stream ends as draining starts; model calls get the grace; past it each is
 * answered in its SDK's dialect (a 503, or a final error event mid-stream) and recorded `aborted`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import OpenAI from 'openai';
import type { DecisionEvent } from '@argus/contracts';
import { Shutdown, createMetricsRegistry, silentLogger } from '@argus/platform';
import { MemorySecretStore, SecretsBroker } from '@argus/secrets';
import { hashTools } from '@argus/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxyApp, type ProxyApp } from './app.ts';
import { parseProxyConfig } from './config.ts';
import { createAuthenticator, hashAgentToken } from './identity.ts';
import { eventually } from './testing/harness.ts';
import { BOT_TOKEN } from './testing/policies.ts';
import { seedTrustedBot, starterDecisionPoint, type StarterDecisionPoint } from './testing/starter-decision-point.ts';
import { mcpUpstream, type TestUpstream } from './testing/upstreams.ts';

const GRACE_MS = 800;

/** Model upstream: `quick` answers after 300 ms, `hang` never answers, `stall` streams one event then stalls. */
async function modelUpstream(): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const doc = JSON.parse(body || '{}') as { model?: string };
      seen.push(`${req.url} ${doc.model}`);
      const anthropic = req.url === '/v1/messages';
      if (doc.model === 'quick') {
        setTimeout(() => {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              id: 'c',
              object: 'chat.completion',
              created: 1,
              model: 'quick',
              choices: [
                { index: 0, message: { role: 'assistant', content: 'done', refusal: null }, finish_reason: 'stop', logprobs: null },
              ],
            }),
          );
        }, 300);
      } else if (doc.model === 'stall') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          anthropic
            ? `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'stall', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } } })}\n\n`
            : `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'stall', choices: [{ index: 0, delta: { content: 'first' }, finish_reason: null }] })}\n\n`,
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

interface Running {
  url: string;
  app: ProxyApp;
  events: DecisionEvent[];
  shutdown: Shutdown;
}

let starter: StarterDecisionPoint;
let models: Awaited<ReturnType<typeof modelUpstream>>;
let mcp: TestUpstream;

beforeAll(async () => {
  starter = await starterDecisionPoint();
  await seedTrustedBot(starter);
  models = await modelUpstream();
  mcp = await mcpUpstream();
  await starter.storage.registry.createMcpServer(
    { id: 'tools', name: 'tools', url: `${mcp.url}/mcp`, trust: 'trusted', tools: hashTools([]) },
    'test',
  );
});

afterAll(async () => {
  models?.server.closeAllConnections();
  await new Promise<void>((r) => (models ? models.server.close(() => r()) : r()));
  await mcp?.close();
  await starter?.close();
});

/** The proxy on a loopback port, registered with a `Shutdown` the way `argus serve` registers it. */
async function start(): Promise<Running> {
  const config = parseProxyConfig({
    decision: { timeoutMs: 2000 },
    auth: { agentTokens: [{ agent: 'bot', sha256: hashAgentToken(BOT_TOKEN) }] },
    upstreams: [
      { name: 'openai', kind: 'openai', prefix: '/openai', target: models.url },
      { name: 'anthropic', kind: 'anthropic', prefix: '/anthropic', target: models.url },
      { name: 'tools', kind: 'mcp', prefix: '/mcp/tools', target: `${mcp.url}/mcp` },
    ],
  });
  const broker = new SecretsBroker(new MemorySecretStore({ key: randomBytes(32) }));
  const events: DecisionEvent[] = [];
  const app = createProxyApp({
    config,
    decisionPoint: starter.decisionPoint,
    secrets: broker,
    recorder: { record: async (e) => void events.push(e) },
    usage: { reportUsage: async () => undefined },
    logger: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    authenticate: createAuthenticator({ auth: config.auth, secrets: broker }),
  });
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const shutdown = new Shutdown(silentLogger(), GRACE_MS, 2000);
  shutdown.addServer('proxy', server, { drain: app.drain });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, app, events, shutdown };
}

const aborted = (events: DecisionEvent[]) =>
  events.filter((e) => e.proxy?.error === 'aborted').map((e) => e.input.context?.mcpMethod ?? e.input.resource.id);

describe('the proxy shutting down', () => {
  it('ends an MCP session stream as draining starts, lets a model call finish within the grace, and drains clean', async () => {
    const p = await start();
    const transport = new StreamableHTTPClientTransport(new URL(`${p.url}/mcp/tools`), {
      requestInit: { headers: { authorization: `Bearer ${BOT_TOKEN}` } },
    });
    const client = new Client({ name: 'drain-test', version: '1.0.0' });
    await client.connect(transport);
    // The client opens its GET event stream on its own after connecting.
    await eventually(() => p.app.drain.inFlight() === 1, 5000);
    const openai = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const before = models.seen.length;
    const call = openai.chat.completions.create({ model: 'quick', messages: [{ role: 'user', content: 'hi' }] });
    await eventually(() => models.seen.length > before);

    const started = Date.now();
    const report = p.shutdown.run();
    // The session stream is gone at once (recorded), the model call still runs.
    await eventually(() => aborted(p.events).includes('session/stream'), 200);
    expect(p.app.drain.inFlight()).toBe(1);
    await expect(fetch(`${p.url}/openai/v1/models`)).rejects.toThrow();
    expect((await call).choices[0]?.message.content).toBe('done');
    expect(await report).toEqual({ clean: true, aborted: 0, failed: [] });
    expect(Date.now() - started).toBeLessThan(GRACE_MS);
    expect(aborted(p.events)).toEqual(['session/stream']);
    await client.close().catch(() => undefined);
  }, 20_000);

  it('past the grace answers each open call in its SDK dialect and records it as aborted', async () => {
    const p = await start();
    const openai = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${p.url}/openai/v1`, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: BOT_TOKEN, baseURL: `${p.url}/anthropic`, maxRetries: 0 });
    const settle = <T>(p: Promise<T>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const hang = settle(openai.chat.completions.create({ model: 'hang', messages: [{ role: 'user', content: 'hi' }] }));
    const drainStream = async (s: AsyncIterable<unknown>) => {
      for await (const _ of s) void _;
    };
    const oStream = await openai.chat.completions.create({ model: 'stall', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const oRead = settle(drainStream(oStream));
    const aStream = anthropic.messages.stream({ model: 'stall', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    const aRead = settle(drainStream(aStream));
    await eventually(() => p.app.drain.inFlight() === 3, 5000);
    await eventually(() => models.seen.filter((s) => s.endsWith('stall')).length >= 2, 5000);

    const started = Date.now();
    const report = await p.shutdown.run();
    expect(Date.now() - started).toBeGreaterThanOrEqual(GRACE_MS - 20);
    expect(report).toEqual({ clean: false, aborted: 3, failed: [] });

    const refused = await hang;
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((refused as Error).message).toMatch(/shutting down/);
    for (const [err, sdk] of [
      [await oRead, OpenAI.APIError],
      [await aRead, Anthropic.APIError],
    ] as const) {
      expect(err).toBeInstanceOf(sdk);
      expect((err as Error).message).toMatch(/shutting down/);
    }
    expect(aborted(p.events).sort()).toEqual(['hang', 'stall', 'stall']);
    expect(p.app.drain.inFlight()).toBe(0);
  }, 20_000);
});
