import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { AuthorizeInput, DecisionPoint } from '@argus/contracts';
import { InvalidInputError } from '@argus/platform';
import express from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteDecisionPoint } from './decision.ts';
import { cedarDecisionPoint } from './testing/cedar-decision-point.ts';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES, TEST_POLICIES } from './testing/policies.ts';
import { openAiUpstream, type TestUpstream } from './testing/upstreams.ts';

let upstream: TestUpstream;
const running: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  upstream = await openAiUpstream();
});
afterAll(async () => {
  for (const r of running.reverse()) await r.close();
  await upstream.close();
});

async function proxyWith(
  decisionPoint: DecisionPoint,
  extra: Record<string, unknown> = {},
  target?: string,
  options: { failingRecorder?: boolean; decisionTimeoutMs?: number } = {},
): Promise<RunningProxy> {
  const { decisionTimeoutMs = 200, ...rest } = options;
  const p = await startProxy({
    decisionPoint,
    secrets: { 'openai-key': CANARIES.openai },
    tokens: { bot: BOT_TOKEN },
    ...rest,
    config: {
      decision: { timeoutMs: decisionTimeoutMs },
      upstreams: [
        { name: 'openai', kind: 'openai', prefix: '/openai', target: target ?? upstream.url, credential: { name: 'openai-key' }, ...extra },
      ],
    },
  });
  running.push(p);
  return p;
}

function chat(p: RunningProxy): Promise<Response> {
  return fetch(`${p.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-ok', messages: [] }),
  });
}

async function listen(app: express.Express | ((req: unknown, res: unknown) => void)): Promise<{ url: string; server: Server }> {
  const server = createServer(app as Parameters<typeof createServer>[0] & object);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  running.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('fail closed when the decision point is down or slow', () => {
  it('answers 503 when the remote apdp is unreachable, and the upstream sees nothing', async () => {
    const dead = await listen(express());
    const url = dead.url;
    await new Promise<void>((r) => {
      dead.server.closeAllConnections();
      dead.server.close(() => r());
    });
    const p = await proxyWith(createRemoteDecisionPoint({ url, timeoutMs: 200 }));
    const before = upstream.seen.length;
    const res = await chat(p);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'unavailable', type: 'server_error', param: null } });
    expect(upstream.seen.length).toBe(before);
    await eventually(() => p.events.length === 1);
    expect(p.events[0]).toMatchObject({
      result: { allow: false, errors: [{ code: 'decision_unavailable' }] },
      proxy: { upstream: 'openai', error: 'decision_unavailable' },
    });
    expect(await p.metrics.metrics()).toMatch(/argus_proxy_decisions_total\{upstream="openai",outcome="unavailable"\} 1/);
  });

  it('answers 503 within the timeout when the decision point hangs', async () => {
    const p = await proxyWith({ decide: () => new Promise(() => undefined) });
    const t0 = Date.now();
    const res = await chat(p);
    expect(res.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('answers 503 when the decision point throws or answers garbage, and the real openai client sees it', async () => {
    const throwing = await proxyWith({
      decide: async () => {
        throw new Error('engine exploded');
      },
    });
    expect((await chat(throwing)).status).toBe(503);
    // A decision point that throws before returning a promise fails closed the same way.
    const throwingAtOnce = await proxyWith({
      decide: () => {
        throw new Error('engine exploded at once');
      },
    });
    expect((await chat(throwingAtOnce)).status).toBe(503);
    const garbage = await proxyWith({ decide: async () => ({ decision_id: 'x' }) as never });
    expect((await chat(garbage)).status).toBe(503);
    const client = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${throwing.url}/openai/v1`, maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'gpt-ok', messages: [] })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('answers the caller 400 when the decision point refuses the input itself: the caller’s error, recorded, not an outage', async () => {
    const before = upstream.seen.length;
    const refusing = await proxyWith({
      decide: async () => {
        throw new InvalidInputError('invalid value at `/input/context/x`', [{ path: '/input/context/x', message: 'bad' }]);
      },
    });
    // A remote decision point's 400 reads the same.
    const app = express();
    app.post(
      '/v1/authorize',
      (_req, res) =>
        void res.status(400).json({
          code: 'invalid_parameter',
          message: 'invalid value at `/input/context/x`',
          errors: [{ path: '/input/context/x', message: 'bad' }],
        }),
    );
    const remote = await proxyWith(createRemoteDecisionPoint({ url: (await listen(app)).url, timeoutMs: 500 }));
    const fromRemote = await chat(remote);
    expect(fromRemote.status).toBe(400);
    expect(await fromRemote.json()).toMatchObject({ error: { code: 'invalid_parameter', message: 'invalid value at `/input/context/x`' } });
    const res = await chat(refusing);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_parameter', message: 'invalid value at `/input/context/x`' } });
    expect(upstream.seen.length).toBe(before);
    await eventually(() => refusing.events.some((e) => e.result.codes?.includes('invalid_parameter') && e.proxy?.error === 'refused'));
    expect(refusing.events.some((e) => e.result.errors.some((x) => x.code === 'decision_unavailable'))).toBe(false);
    expect(refusing.logs.join('')).not.toContain('decision unavailable');
  });

  it('lets nothing through on an ambiguous answer (allow false with decision allow)', async () => {
    const p = await proxyWith({
      decide: async () => ({ decision_id: 'd', policy_version: 'v', result: { allow: false, decision: 'allow', reasons: [], errors: [] } }),
    });
    expect((await chat(p)).status).toBe(403);
  });
});

describe('remote decision point', () => {
  it('posts the input to /v1/authorize with its token and asks the apdp not to audit', async () => {
    const seen: Array<{ headers: Record<string, unknown>; body: { input: AuthorizeInput } }> = [];
    const local = cedarDecisionPoint(TEST_POLICIES);
    // Warm the WASM module so the first remote answer is not slowed by its compilation.
    await local.decide(
      { principal: { type: 'Agent', id: 'bot' }, action: 'llm:invoke', resource: { type: 'Model', id: 'gpt-ok' } },
      { caller: { kind: 'test' } },
    );
    const app = express();
    app.post('/v1/authorize', express.json(), async (req, res) => {
      seen.push({ headers: req.headers, body: req.body as { input: AuthorizeInput } });
      res.json(await local.decide((req.body as { input: AuthorizeInput }).input, { caller: { kind: 'apdp' } }));
    });
    const apdp = await listen(app);
    // Deadlines loose enough for a loaded machine: this test is about what is sent, not how fast.
    const p = await proxyWith(
      createRemoteDecisionPoint({ url: `${apdp.url}/`, timeoutMs: 2000, token: 'apdp-service-token' }),
      {},
      undefined,
      { decisionTimeoutMs: 3000 },
    );
    const res = await chat(p);
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBe('Bearer apdp-service-token');
    expect(seen[0]!.headers['x-argus-audit']).toBe('false');
    expect(seen[0]!.body.input).toMatchObject({
      principal: { type: 'Agent', id: 'bot' },
      action: 'llm:invoke',
      resource: { type: 'Model', id: 'gpt-ok' },
    });
  });

  it('fails on a non-200 answer and on a slow apdp', async () => {
    const app = express();
    app.post('/v1/authorize', (_req, res) => void res.status(500).json({ code: 'internal_error' }));
    app.post('/slow/v1/authorize', () => undefined);
    const apdp = await listen(app);
    await expect(
      createRemoteDecisionPoint({ url: apdp.url, timeoutMs: 200 }).decide(
        { principal: { type: 'Agent', id: 'a' }, action: 'x', resource: { type: 'T', id: 'r' } },
        { caller: { kind: 'proxy' } },
      ),
    ).rejects.toMatchObject({ code: 'unavailable' });
    const t0 = Date.now();
    await expect(
      createRemoteDecisionPoint({ url: `${apdp.url}/slow`, timeoutMs: 150 }).decide(
        { principal: { type: 'Agent', id: 'a' }, action: 'x', resource: { type: 'T', id: 'r' } },
        { caller: { kind: 'proxy' } },
      ),
    ).rejects.toThrow(/within 150 ms/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('upstream failures', () => {
  const allowAll = cedarDecisionPoint({ all: { text: 'permit(principal, action, resource);' } });

  it('answers 502 when the upstream is unreachable and records the error', async () => {
    const dead = await listen(express());
    await new Promise<void>((r) => {
      dead.server.closeAllConnections();
      dead.server.close(() => r());
    });
    const p = await proxyWith(allowAll, {}, dead.url);
    const res = await chat(p);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
    await eventually(() => p.events.length === 1);
    expect(p.events[0]!.proxy).toMatchObject({ upstream: 'openai', error: 'connect' });
    expect(await p.metrics.metrics()).toMatch(/argus_proxy_upstream_errors_total\{upstream="openai",kind="connect"\} 1/);
  });

  it('answers 504 when the upstream stays silent past the idle timeout', async () => {
    const silent = await listen((_req: unknown, _res: unknown) => undefined);
    const p = await proxyWith(allowAll, { timeouts: { idleMs: 150 } }, silent.url);
    const t0 = Date.now();
    const res = await chat(p);
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(2000);
    await eventually(() => p.events.length === 1);
    expect(p.events[0]!.proxy?.error).toBe('timeout');
  });

  it('decodes a compressed upstream answer so the scrubber sees it', async () => {
    const gz = await listen((_req: unknown, res: unknown) => {
      const r = res as import('node:http').ServerResponse;
      r.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      r.end(gzipSync(JSON.stringify({ leaked: CANARIES.openai, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } })));
    });
    const p = await proxyWith(allowAll, {}, gz.url);
    const res = await chat(p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBeNull();
    const text = await res.text();
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(CANARIES.openai);
    await eventually(() => p.events.length === 1);
    expect(p.events[0]!.proxy?.usage).toEqual({ inputTokens: 1, outputTokens: 1, totalTokens: 2 });
  });

  it('answers 502 for an unknown or stacked content encoding: the undecodable body never reaches the agent', async () => {
    const body = JSON.stringify({ leaked: CANARIES.openai });
    const bodies: Record<string, Buffer> = {
      'gzip, gzip': gzipSync(gzipSync(body)),
      zstd: Buffer.from(body),
      compress: Buffer.from(body),
      'gzip,br': gzipSync(body),
    };
    for (const [encoding, payload] of Object.entries(bodies)) {
      for (const type of ['application/json', 'text/event-stream']) {
        const up = await listen((_req: unknown, res: unknown) => {
          const r = res as import('node:http').ServerResponse;
          r.writeHead(200, { 'content-type': type, 'content-encoding': encoding, 'x-leak': CANARIES.openai });
          r.end(payload);
        });
        const p = await proxyWith(allowAll, {}, up.url);
        const res = await chat(p);
        expect(res.status, encoding).toBe(502);
        const text = await res.text();
        expect(JSON.parse(text)).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
        expect(text).toContain('unsupported content encoding');
        expect(text).not.toContain(CANARIES.openai);
        expect(JSON.stringify([...res.headers])).not.toContain(CANARIES.openai);
        expect(res.headers.get('content-encoding')).toBeNull();
        await eventually(() => p.events.length === 1);
        expect(p.events[0]!.proxy).toMatchObject({ upstream: 'openai', status: 200, error: 'unsupported_encoding' });
      }
    }
  });

  it('counts a failing audit sink instead of failing the call', async () => {
    const p = await proxyWith(allowAll, {}, undefined, { failingRecorder: true });
    expect((await chat(p)).status).toBe(200);
    await eventually(() => p.logs.some((l) => l.includes('audit record failed')));
    expect(await p.metrics.metrics()).toMatch(/argus_proxy_sink_failures_total\{sink="audit"\} 1/);
  });

  it('answers 503 when the upstream credential is missing (never forwards unauthenticated)', async () => {
    const p = await startProxy({
      decisionPoint: allowAll,
      tokens: { bot: BOT_TOKEN },
      config: {
        upstreams: [{ name: 'openai', kind: 'openai', prefix: '/openai', target: upstream.url, credential: { name: 'missing-key' } }],
      },
    });
    running.push(p);
    const before = upstream.seen.length;
    expect((await chat(p)).status).toBe(503);
    expect(upstream.seen.length).toBe(before);
  });
});
