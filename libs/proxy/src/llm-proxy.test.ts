import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { validatorFor } from '@argus/contracts';
import { rawExchange } from '@argus/platform/testing/raw-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cedarDecisionPoint } from './testing/cedar-decision-point.ts';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES, INTRUDER_TOKEN, TEST_POLICIES } from './testing/policies.ts';
import { anthropicUpstream, gate, openAiUpstream, type Gate, type TestUpstream } from './testing/upstreams.ts';

let openai: TestUpstream;
let anthropic: TestUpstream;
let proxy: RunningProxy;
let currentGate: (Gate & { wait: Promise<void>; markFirst(): void }) | undefined;
const dp = cedarDecisionPoint(TEST_POLICIES);
/** Every response body and header block an agent received in this file. */
const received: string[] = [];

beforeAll(async () => {
  openai = await openAiUpstream({ streamGate: () => currentGate });
  anthropic = await anthropicUpstream();
  proxy = await startProxy({
    decisionPoint: dp,
    secrets: { 'openai-key': CANARIES.openai, 'anthropic-key': CANARIES.anthropic, 'internal-key': 'internal-CANARY-556677' },
    tokens: { bot: BOT_TOKEN, intruder: INTRUDER_TOKEN },
    config: {
      decision: { timeoutMs: 500 },
      limits: { maxBodyBytes: 64 * 1024 },
      stripHeaders: ['x-debug-secret'],
      upstreams: [
        { name: 'openai', kind: 'openai', prefix: '/openai', target: openai.url, credential: { name: 'openai-key' } },
        { name: 'anthropic', kind: 'anthropic', prefix: '/anthropic', target: anthropic.url, credential: { name: 'anthropic-key' } },
        {
          name: 'internal',
          kind: 'http',
          prefix: '/internal',
          target: openai.url,
          credential: { name: 'internal-key', inject: 'header', header: 'x-internal-key' },
          timeouts: { idleMs: 2000 },
        },
      ],
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await openai?.close();
  await anthropic?.close();
});

function openAiClient(token = BOT_TOKEN, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({
    apiKey: token,
    baseURL: `${proxy.url}/openai/v1`,
    maxRetries: 0,
    timeout: 5000,
    defaultHeaders: { 'x-argus-intent': 'summarize', 'x-argus-goal': 'goal-1', ...headers },
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      const copy = res.clone();
      received.push(JSON.stringify([...copy.headers]));
      void copy.text().then((t) => received.push(t));
      return res;
    },
  });
}

describe('OpenAI upstream through the real openai client', () => {
  it('forwards an allowed chat completion with the injected key, never the agent token', async () => {
    const before = openai.seen.length;
    const completion = await openAiClient().chat.completions.create({ model: 'gpt-ok', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello');
    const seen = openai.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${CANARIES.openai}`);
    expect(JSON.stringify(seen[0]!.headers)).not.toContain(BOT_TOKEN);
    expect(Object.keys(seen[0]!.headers).filter((h) => h.startsWith('x-argus-'))).toEqual([]);
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ model: 'gpt-ok', messages: [{ role: 'user', content: 'hi' }] });

    await eventually(() => proxy.events.some((e) => e.input.resource.id === 'gpt-ok' && e.proxy?.status === 200));
    const event = proxy.events.find((e) => e.input.resource.id === 'gpt-ok')!;
    expect(event).toMatchObject({
      caller: { kind: 'proxy', subject: 'bot' },
      input: {
        principal: { type: 'Agent', id: 'bot' },
        action: 'llm:invoke',
        resource: { type: 'Model', id: 'gpt-ok' },
        intent: 'summarize',
        goal: 'goal-1',
      },
      result: { allow: true },
      proxy: { upstream: 'openai', status: 200, credentialName: 'openai-key', usage: { inputTokens: 5, outputTokens: 1, totalTokens: 6 } },
    });
    await eventually(() => proxy.usage.some((u) => u.decisionId === event.decisionId));
    expect(proxy.usage.find((u) => u.decisionId === event.decisionId)).toEqual({
      goal: 'goal-1',
      agent: 'bot',
      tokens: 6,
      decisionId: event.decisionId,
    });
    expect(dp.options.every((o) => o.audit === false && o.caller.kind === 'proxy')).toBe(true);
  });

  it('streams an allowed completion chunk by chunk, unbuffered, and reads usage from the final chunk', async () => {
    currentGate = gate();
    const g = currentGate;
    const { data: stream, response } = await openAiClient()
      .chat.completions.create({
        model: 'gpt-ok',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const it = stream[Symbol.asyncIterator]();
    // The upstream holds the rest of the stream until the first chunk reached the client: a
    // buffering proxy would deadlock here and fail on the timeout.
    const first = await Promise.race([
      it.next(),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('first chunk was buffered')), 3000)),
    ]);
    expect(first.value?.choices[0]?.delta.content).toBe('Hel');
    g.open();
    let text = 'Hel';
    let usage: unknown;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      text += r.value.choices[0]?.delta.content ?? '';
      if (r.value.usage) usage = r.value.usage;
    }
    currentGate = undefined;
    expect(text).toBe('Hello');
    expect(usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
    await eventually(() => proxy.events.some((e) => e.proxy?.usage?.totalTokens === 9));
    expect(proxy.usage.some((u) => u.tokens === 9 && u.goal === 'goal-1')).toBe(true);
  });

  it('denies a model the policy does not allow: 403 with decision id, upstream never called', async () => {
    const before = openai.seen.length;
    const err = await openAiClient(INTRUDER_TOKEN)
      .chat.completions.create({ model: 'gpt-ok', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INTRUDER_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-ok', messages: [] }),
    });
    expect(res.status).toBe(403);
    const { error: body } = (await res.json()) as { error: Record<string, unknown> };
    expect(body).toMatchObject({ code: 'forbidden', type: 'permission_error', param: null, decision: 'deny', codes: ['no_permit'] });
    expect(body.reasons).toBeUndefined();
    expect(typeof body.decision_id).toBe('string');
    expect(body.message).toBe(`denied: no permit (decision ${String(body.decision_id)})`);
    // An http upstream answers in the Argus shape.
    const internal = await fetch(`${proxy.url}/internal/v1/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INTRUDER_TOKEN}` },
    });
    expect(internal.status).toBe(403);
    expect(validatorFor('https://argus.dev/schemas/proxy/denied-response.json')(await internal.json())).toMatchObject({ ok: true });
    expect(openai.seen.length).toBe(before);
    await eventually(() => proxy.events.some((e) => e.decisionId === body.decision_id));
    const event = proxy.events.find((e) => e.decisionId === body.decision_id)!;
    expect(event.result.allow).toBe(false);
    expect(event.proxy).toEqual({ upstream: 'openai', error: 'denied' });
  });

  it('scrubs the injected key from an upstream error that quotes it (body and headers)', async () => {
    const err = await openAiClient()
      .chat.completions.create({ model: 'echo-key', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.message).toContain('[redacted]');
    expect(e.message).not.toContain(CANARIES.openai);
    expect(e.headers?.get('x-echo-key')).toBe('Bearer [redacted]');
    await eventually(() => proxy.events.some((ev) => ev.input.resource.id === 'echo-key'));
    expect(proxy.events.find((ev) => ev.input.resource.id === 'echo-key')?.proxy?.status).toBe(401);
  });

  it('decides embeddings on the model and non-model routes on the Api entity', async () => {
    const emb = await openAiClient().embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    expect(emb.usage.total_tokens).toBe(4);
    const models = await openAiClient().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-ok']);
    await eventually(() => proxy.events.some((e) => e.input.action === 'http:request' && e.input.resource.id === 'openai'));
    expect(proxy.events.find((e) => e.input.action === 'http:request' && e.input.resource.id === 'openai')?.input).toMatchObject({
      resource: { type: 'Api', id: 'openai' },
      context: { method: 'GET', path: '/v1/models' },
    });
  });

  it('decides a model route on its model in any spelling an upstream may still route there', async () => {
    const before = openai.seen.length;
    const onModel = () => proxy.events.filter((e) => e.input.action === 'llm:invoke' && e.input.principal.id === 'intruder').length;
    const decidedBefore = onModel();
    for (const path of ['/v1/Chat/Completions', '/v1/chat/completions/', '/V1/CHAT/COMPLETIONS/']) {
      const res = await fetch(`${proxy.url}/openai${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTRUDER_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-ok', messages: [] }),
      });
      expect(res.status, path).toBe(403);
      expect(((await res.json()) as { error: { codes: string[] } }).error.codes, path).toEqual(['no_permit']);
    }
    expect(openai.seen.length).toBe(before);
    // Each was decided as a model call (llm:invoke on Model::"gpt-ok"), not as a request to the Api.
    await eventually(() => onModel() - decidedBefore === 3);
    // Without a model it is refused like the route itself.
    const bare = await fetch(`${proxy.url}/openai/v1/CHAT/completions/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: '{"messages":[]}',
    });
    expect(bare.status).toBe(400);
  });

  it('refuses a path the upstream could read as another one, before deciding or forwarding anything', async () => {
    const before = openai.seen.length;
    const decidedBefore = proxy.events.length;
    const forbidden = JSON.stringify({ model: 'forbidden-model', messages: [] });
    const cases: [method: string, target: string, body: string][] = [
      // A fragment: decided as `/v1/chat/completions#x` (an `http:request`), sent up as the model route.
      ['GET', '/openai/v1/chat/completions#x', forbidden],
      ['POST', '/openai/v1/chat/completions#', forbidden],
      ['GET', '/internal/..#x', ''],
      // Forms a decoding, normalizing or servlet-style upstream routes as another path.
      ['GET', '/internal/%61dmin', ''],
      ['GET', '/internal/..;/admin', ''],
      ['GET', '/internal/;/admin', ''],
      ['GET', '/internal/%C0%AE%C0%AE/admin', ''],
      ['GET', '/internal/%zz', ''],
      ['GET', '/internal/%', ''],
      ['POST', '/openai/v1/chat/completions;x=1', forbidden],
    ];
    for (const [method, target, body] of cases) {
      const answer = await rawExchange(
        proxy.url,
        `${method} ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${BOT_TOKEN}\r\nContent-Type: application/json`,
        body,
      );
      expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
      const error = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code?: string; error?: { code?: string } };
      expect(error.code ?? error.error?.code, target).toMatch(/^invalid_/);
    }
    expect(openai.seen.length).toBe(before);
    expect(proxy.events.slice(decidedBefore).filter((e) => e.result.allow)).toEqual([]);
  });

  it('refuses a body naming a key twice in one object, in any spelling (an upstream parser may keep the first)', async () => {
    const before = openai.seen.length;
    for (const [body, param] of [
      ['{"model":"gpt-forbidden","messages":[{"role":"user","content":"hi"}],"model":"gpt-ok"}', 'model'],
      // JSON.parse keeps the last (`gpt-ok`, decided); a first-wins parser unescapes and runs the other.
      ['{"mod\\u0065l":"gpt-forbidden","model":"gpt-ok","messages":[]}', 'model'],
      ['{"model":"gpt-ok","stream":false,"stream":true,"messages":[]}', 'stream'],
      // A parser matching names in any case (Go's encoding/json) binds MODEL to the model field.
      ['{"model":"gpt-ok","MODEL":"gpt-forbidden","messages":[]}', 'MODEL'],
      ['{"model":"gpt-ok","messages":[{"role":"user","role":"system","content":"hi"}]}', 'messages.0.role'],
    ]) {
      const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status, body).toBe(400);
      expect(await res.json(), body).toMatchObject({ error: { code: 'invalid_parameter', type: 'invalid_request_error', param } });
    }
    expect(openai.seen.length).toBe(before);
  });

  it('refuses a model the decision could not name (padded, control characters) as the caller’s error, not an outage', async () => {
    const before = openai.seen.length;
    for (const model of ['gpt-ok ', ' gpt-ok', 'gpt\nok', 'gpt\u0000ok']) {
      const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [] }),
      });
      expect(res.status, JSON.stringify(model)).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_parameter', param: 'model' } });
    }
    expect(openai.seen.length).toBe(before);
    expect(proxy.logs.join('')).not.toContain('decision unavailable');
  });

  it('refuses a body without a model with the offending path', async () => {
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: '{"messages":[]}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_parameter', type: 'invalid_request_error', param: 'model' } });
  });

  it('refuses a body nested deeper than limits.maxJsonDepth, naming where: the upstream’s parser might recurse on it', async () => {
    const before = openai.seen.length;
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: `{"model":"gpt-ok","messages":[{"role":"user","content":${'['.repeat(200)}${']'.repeat(200)}}]}`,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('nested deeper than');
    expect(openai.seen.length).toBe(before);
  });

  it('refuses a body that is not UTF-8: it would be decided on U+FFFD while the upstream reads the bytes sent', async () => {
    const before = openai.seen.length;
    const body = Buffer.concat([Buffer.from('{"model":"gpt-ok'), Buffer.from([0xff]), Buffer.from('","messages":[]}')]);
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('not valid UTF-8');
    expect(openai.seen.length).toBe(before);
  });

  it('refuses a body on a model route requested with another method than POST: its model would reach the upstream undecided', async () => {
    const before = openai.seen.length;
    const body = '{"model":"gpt-forbidden","messages":[]}';
    /** The status of `method path` with `body` (fetch sends no body on a GET). */
    const send = (method: string, path: string) =>
      new Promise<number>((resolve, reject) => {
        const headers = { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json', 'content-length': String(body.length) };
        const req = httpRequest(`${proxy.url}${path}`, { method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
    for (const method of ['GET', 'DELETE', 'PUT']) expect(await send(method, '/openai/v1/chat/completions'), method).toBe(400);
    await new Promise((r) => setTimeout(r, 50));
    expect(openai.seen.slice(before)).toEqual([]);
    await eventually(() => proxy.events.some((e) => e.input.context?.method === 'GET' && e.result.decision === 'deny'));
    // Elsewhere a body stays the upstream's business: the call is decided on the Api by method and
    // path (these test policies allow only GET there, so a deny, not a refusal of its body).
    expect(await send('DELETE', '/openai/v1/files/file-1')).toBe(403);
    await eventually(() =>
      proxy.events.some(
        (e) => e.input.action === 'http:request' && e.input.context?.method === 'DELETE' && e.input.context?.path === '/v1/files/file-1',
      ),
    );
  });
});

describe('Anthropic upstream through the real @anthropic-ai/sdk client', () => {
  function client(): Anthropic {
    return new Anthropic({
      apiKey: BOT_TOKEN,
      baseURL: `${proxy.url}/anthropic`,
      maxRetries: 0,
      timeout: 5000,
      defaultHeaders: { 'x-argus-goal': 'goal-2' },
    });
  }

  it('injects x-api-key and strips the agent token', async () => {
    const before = anthropic.seen.length;
    const msg = await client().messages.create({ model: 'claude-ok', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Bonjour' });
    const seen = anthropic.seen[before]!;
    expect(seen.headers['x-api-key']).toBe(CANARIES.anthropic);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBeDefined();
    expect(JSON.stringify(seen.headers)).not.toContain(BOT_TOKEN);
  });

  it('streams messages and records usage from message_start and message_delta', async () => {
    const stream = client().messages.stream({ model: 'claude-ok', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    const chunks: string[] = [];
    stream.on('text', (t) => chunks.push(t));
    const final = await stream.finalMessage();
    expect(chunks).toEqual(['Bon', 'jour']);
    expect(final.usage.output_tokens).toBe(3);
    await eventually(() => proxy.events.some((e) => e.input.goal === 'goal-2' && e.proxy?.usage?.totalTokens === 14));
    const ev = proxy.events.find((e) => e.input.goal === 'goal-2' && e.proxy?.usage?.totalTokens === 14)!;
    expect(ev.proxy).toMatchObject({
      upstream: 'anthropic',
      credentialName: 'anthropic-key',
      usage: { inputTokens: 11, outputTokens: 3, totalTokens: 14 },
    });
    await eventually(() => proxy.usage.some((u) => u.goal === 'goal-2' && u.tokens === 14));
  });

  it('denies an unlisted model before the upstream sees it', async () => {
    const before = anthropic.seen.length;
    await expect(
      client().messages.create({ model: 'claude-forbidden', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(anthropic.seen.length).toBe(before);
  });
});

describe('identity, header and network hygiene', () => {
  it('answers 401 without a valid agent credential and never forwards', async () => {
    const before = openai.seen.length;
    for (const auth of [undefined, 'Bearer argus_unknown_token_000', 'Bearer not-a-jwt', 'Basic Ym90OmJvdA==']) {
      const res = await fetch(`${proxy.url}/openai/v1/models`, { headers: auth ? { authorization: auth } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', type: 'authentication_error' } });
    }
    expect(openai.seen.length).toBe(before);
    // Each refusal has its record, with no caller subject (nobody was authenticated).
    await eventually(() => proxy.events.filter((e) => e.result.codes?.includes('unauthenticated')).length >= 4);
    const refused = proxy.events.filter((e) => e.result.codes?.includes('unauthenticated'));
    expect(refused[0]).toMatchObject({
      caller: { kind: 'proxy' },
      input: { action: 'proxy:request', resource: { type: 'Api', id: 'openai' }, context: { method: 'GET', path: '/v1/models' } },
      result: { allow: false },
      proxy: { upstream: 'openai', error: 'refused' },
    });
    expect(refused[0]!.caller.subject).toBeUndefined();
  });

  it('strips hop-by-hop, Connection-listed, spoofed and credential headers; routes by prefix, never Host', async () => {
    const before = openai.seen.length;
    const { status, headers } = await rawRequest(`${proxy.url}/internal/v1/models`, {
      authorization: `Bearer ${BOT_TOKEN}`,
      host: 'evil.example',
      connection: 'keep-alive, x-hop-custom',
      'x-hop-custom': 'should-vanish',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'x-forwarded-for': '10.6.6.6',
      'x-http-method-override': 'DELETE',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=10.6.6.6;host=evil.example',
      'x-real-ip': '10.6.6.6',
      cookie: 'session=agent-cookie',
      'proxy-authorization': 'Basic eDp5',
      'x-api-key': 'agent-own-key',
      'x-debug-secret': 'configured-strip',
      'x-argus-delegation-token': 'tok',
      'x-keep-me': 'yes',
    });
    expect(status).toBe(200);
    const seen = openai.seen[before]!;
    const names = Object.keys(seen.headers);
    for (const h of [
      'x-hop-custom',
      'keep-alive',
      'te',
      'x-forwarded-for',
      'x-forwarded-host',
      'forwarded',
      'x-real-ip',
      'cookie',
      'proxy-authorization',
      'x-api-key',
      'authorization',
      'x-debug-secret',
      'x-argus-delegation-token',
      'x-http-method-override',
    ]) {
      expect(names, h).not.toContain(h);
    }
    expect(seen.headers['x-keep-me']).toBe('yes');
    expect(seen.headers['x-internal-key']).toBe('internal-CANARY-556677');
    expect(seen.headers.host).toBe(new URL(openai.url).host);
    // The upstream's own hop-by-hop headers do not reach the agent either.
    expect(headers['x-secret-hop']).toBeUndefined();
    expect(headers['keep-alive']).not.toBe('timeout=99');
  });

  it('does not follow upstream redirects', async () => {
    const res = await fetch(`${proxy.url}/openai/v1/redirect`, { headers: { authorization: `Bearer ${BOT_TOKEN}` }, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:1/elsewhere');
  });

  it('refuses oversize bodies with 413 and non-canonical paths with 400', async () => {
    const before = openai.seen.length;
    const big = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-ok', pad: 'x'.repeat(70 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'body_too_large', type: 'invalid_request_error' } });
    for (const path of ['/openai/v1/x/..%2fchat/completions', '/openai/v1/%2e%2e/admin', '/openai//v1/models']) {
      // A Host header: without one node itself answers 400 and the proxy is never asked.
      const res = await rawRequest(`${proxy.url}${path}`, { authorization: `Bearer ${BOT_TOKEN}`, host: 'proxy.test' });
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_parameter', param: 'path' } });
    }
    expect(openai.seen.length).toBe(before);
    // Recorded under the agent that sent it: the body is read once the caller is known.
    await eventually(() =>
      proxy.events.some((e) => e.result.codes?.includes('body_too_large') && e.caller.subject === 'bot' && e.input.principal.id === 'bot'),
    );
    await eventually(() =>
      proxy.events.some((e) => e.result.codes?.includes('invalid_parameter') && e.input.context?.path === '/v1/%2e%2e/admin'),
    );
  });

  it('records a body that cannot be decoded with its own code, under the agent that sent it', async () => {
    const post = (encoding: string, body: Buffer) =>
      fetch(`${proxy.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json', 'content-encoding': encoding },
        body,
      });
    const bomb = gzipSync(Buffer.from(JSON.stringify({ model: 'gpt-ok', pad: 'x'.repeat(200 * 1024) })));
    expect((await post('gzip', bomb)).status).toBe(413);
    const zstd = await post('zstd', Buffer.from('{}'));
    expect(zstd.status).toBe(415);
    expect(await zstd.json()).toMatchObject({ error: { param: 'headers.content-encoding' } });
    expect((await post('gzip', Buffer.from('not gzip'))).status).toBe(400);
    const refused = () => proxy.events.filter((e) => e.input.principal.id === 'bot' && e.proxy?.error === 'refused');
    await eventually(() => refused().some((e) => e.result.codes?.includes('body_too_large')));
    expect(refused().some((e) => e.result.codes?.includes('internal_error'))).toBe(false);
  });

  it('routes by whole prefix segment in any case, reads gzip and chunked bodies, and echoes a sane request id', async () => {
    const auth = { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'gpt-ok', messages: [{ role: 'user', content: 'zipped' }] });
    // Not a whole segment, or no upstream at all: 404 in the wire shape, nothing forwarded.
    const before = openai.seen.length;
    for (const path of ['/openaix/v1/chat/completions', '/nowhere']) {
      const res = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: auth, body });
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'not_found' });
    }
    expect(openai.seen.length).toBe(before);
    // The prefix matches in any case; the upstream sees the path after it, query included.
    const upper = await fetch(`${proxy.url}/OpenAI/v1/chat/completions?trace=1`, {
      method: 'POST',
      headers: { ...auth, 'x-request-id': 'req-42' },
      body,
    });
    expect(upper.status).toBe(200);
    expect(upper.headers.get('x-request-id')).toBe('req-42');
    expect(openai.seen.at(-1)).toMatchObject({ url: '/v1/chat/completions?trace=1' });
    // A gzip body is decoded (and re-sent decoded, with its own length); a broken one is a 400.
    const zipped = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    expect(zipped.status).toBe(200);
    expect(openai.seen.at(-1)?.body).toBe(body);
    expect(openai.seen.at(-1)?.headers['content-encoding']).toBeUndefined();
    const broken = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-encoding': 'gzip' },
      body: 'not gzip at all',
    });
    expect(broken.status).toBe(400);
    // A body over the limit without a declared length (chunked) is refused as it streams in.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${proxy.url}/openai/v1/chat/completions`,
        { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 80; i++) req.write('x'.repeat(1024));
      req.end();
    });
    expect(chunked).toBe(413);
    // A hostile request id is replaced.
    const hostile = await fetch(`${proxy.url}/nowhere`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('validates the delegation header and takes it as the chain ending at the caller', async () => {
    const bad = await fetch(`${proxy.url}/openai/v1/models`, {
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'x-argus-delegation': 'Human::alice,Agent::someone-else' },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_parameter', param: 'headers.x-argus-delegation' } });
    const good = await fetch(`${proxy.url}/openai/v1/models`, {
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'x-argus-delegation': 'Human::"alice", Agent::planner,Agent::bot' },
    });
    expect(good.status).toBe(200);
    expect(dp.calls.at(-1)?.delegation).toEqual([
      { type: 'Human', id: 'alice' },
      { type: 'Agent', id: 'planner' },
      { type: 'Agent', id: 'bot' },
    ]);
  });

  it('never takes the agent id from the body', async () => {
    const res = await fetch(`${proxy.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INTRUDER_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-ok', messages: [], principal: { type: 'Agent', id: 'bot' }, agent: 'bot', user: 'bot' }),
    });
    expect(res.status).toBe(403);
    expect(dp.calls.at(-1)?.principal).toEqual({ type: 'Agent', id: 'intruder' });
  });

  it('exposes decision, latency and error metrics', async () => {
    const text = await proxy.metrics.metrics();
    expect(text).toMatch(/argus_proxy_decisions_total\{upstream="openai",outcome="allow"\} \d+/);
    expect(text).toMatch(/argus_proxy_decisions_total\{upstream="openai",outcome="deny"\} \d+/);
    expect(text).toMatch(/argus_proxy_upstream_latency_seconds_bucket\{le="0.001",upstream="openai",status_class="2xx"\}/);
  });
});

describe('no canary ever leaves the proxy', () => {
  it('appears in no response, no log line and no audit record', async () => {
    await eventually(() => received.length > 0);
    const all = [received.join('\n'), proxy.logs.join(''), JSON.stringify(proxy.events), JSON.stringify(proxy.usage)];
    expect(proxy.logs.length).toBeGreaterThan(5);
    expect(proxy.events.length).toBeGreaterThan(5);
    for (const canary of [CANARIES.openai, CANARIES.anthropic, 'internal-CANARY-556677']) {
      for (const text of all) {
        expect(text).not.toContain(canary);
        expect(text).not.toContain(Buffer.from(canary).toString('base64'));
      }
    }
    expect(proxy.logs.join('')).not.toContain(BOT_TOKEN);
  });
});

function rawRequest(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    // The path is sent as written (a URL object would resolve `%2e%2e` before sending).
    const u = new URL(url);
    const raw = url.slice(u.origin.length);
    const req = httpRequest({ host: u.hostname, port: u.port, path: raw, method: 'GET', headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}
