import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '@argus/platform';
import { OPAClient } from '@styra/opa';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPolicyDir } from './policy-files.ts';
import { decisionListener, serveDecisionRoutes } from './routes/decision-routes.ts';
import {
  ADMIN_TOKEN,
  CEDAR_DIR,
  handlerOf,
  listen,
  seedRegistry,
  startHarness,
  toolCall,
  TRANSPORTS,
  type Harness,
  type Transport,
} from './testing/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await seedRegistry(h);
});
afterAll(async () => h.close());

/** `POST /v1/authorize` through `transport` (default: the listener production serves). */
const authorizeVia = (body: unknown, transport: Transport = 'listener') =>
  request(handlerOf(h, transport))
    .post('/v1/authorize')
    .send(body as object);

/**
 * Sends raw chunks (no client-side serialization) on a real socket to a server listening with
 * `transport` (default: the listener production serves).
 */
async function rawPost(
  headers: Record<string, string>,
  chunks: Buffer[],
  target: { method?: string; path?: string; transport?: Transport } = {},
): Promise<{ status: number; body: string; requestId: string | undefined }> {
  const server = createServer(handlerOf(h, target.transport ?? 'listener')).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: target.method ?? 'POST', path: target.path ?? '/v1/authorize', headers },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: text, requestId: res.headers['x-request-id'] as string | undefined }),
          );
        },
      );
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  } finally {
    server.close();
  }
}

describe.each(TRANSPORTS)('POST /v1/authorize (%s)', (transport) => {
  const authorize = (body: unknown) => authorizeVia(body, transport);
  it('allows a trusted agent calling a tool for an intent the tool serves', async () => {
    const res = await authorize({ input: toolCall('support-bot') });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      allow: true,
      decision: 'allow',
      reasons: [{ policy: 'tools-serve-their-intents', effect: 'permit' }],
    });
    expect(res.body.result.reasons[0].annotations.reason).toMatch(/intent/);
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.policy_version).toBe(h.holder.current!.set.version);
  });

  it('denies a secret tool without clearance and names the forbid', async () => {
    const res = await authorize({
      input: toolCall('support-bot', 'vault.read', { sensitivity: 'secret', allowedIntents: ['lookup-order-status'] }),
    });
    expect(res.body.result).toMatchObject({
      allow: false,
      decision: 'deny',
      reasons: [{ policy: 'secret-tools-need-clearance', effect: 'forbid' }],
    });
  });

  it('denies by default an agent the registry does not know', async () => {
    const res = await authorize({ input: toolCall('stranger') });
    expect(res.body.result).toMatchObject({ allow: false, reasons: [] });
    expect(res.body.result.facts.agent).toEqual({ registered: false, trust: 'unregistered', lease: 'expired' });
  });

  it('never lets a caller claim registry-owned data: agent trust and entities', async () => {
    const claim = await authorize({
      input: { ...toolCall('new-bot'), principal: { type: 'Agent', id: 'new-bot', attributes: { trust: 'trusted' } } },
    });
    expect(claim.status).toBe(200);
    expect(claim.body.result.allow).toBe(false);
    expect(claim.body.result.facts.agent.trust).toBe('pending');
    expect(claim.body.result.facts.ignored).toEqual(['/input/principal/attributes']);
    const entity = await authorize({
      input: { ...toolCall('new-bot'), entities: [{ uid: { type: 'Agent', id: 'new-bot' }, attrs: { trust: 'trusted' } }] },
    });
    expect(entity.status).toBe(400);
    expect(entity.body.errors[0].path).toBe('/input/entities/0/uid/type');
  });

  it('hard-denies a quarantined agent whatever the policies say', async () => {
    const qBot = `q-bot-${transport}`;
    await h.storage.registry.createAgent({ id: qBot, name: 'Q', owner: 'alice', trust: 'trusted' }, 'test');
    expect((await authorize({ input: toolCall(qBot) })).body.result.allow).toBe(true);
    await h.storage.registry.setTrust('agent', qBot, { to: 'quarantined', by: 'test', reason: 'suspicious' });
    h.events.publish('registry.changed', { kind: 'agent', id: qBot, trust: 'quarantined' });
    const res = await authorize({ input: toolCall(qBot) });
    expect(res.body.result).toMatchObject({ allow: false, codes: ['agent_quarantined'], reasons: [] });
  });

  it('explain none drops annotations and facts; full adds the slice and context', async () => {
    const none = await authorize({ input: toolCall('support-bot'), explain: 'none' });
    expect(none.body.result.reasons[0].annotations).toEqual({});
    expect(none.body.result.facts).toBeUndefined();
    const full = await authorize({ input: toolCall('support-bot'), explain: 'full' });
    const ids = full.body.result.explanation.entities.map((e: { uid: { id: string } }) => e.uid.id).sort();
    expect(ids).toEqual(['alice', 'crm.search', 'support-bot']);
    expect(full.body.result.explanation.context.intent).toBe('lookup-order-status');
  });
});

describe.each(TRANSPORTS)('memoised Cedar answers (%s)', (transport) => {
  const authorize = (body: unknown) => authorizeVia(body, transport);
  it('answers a repeated input from the memo, counts it, and never serves an answer of another policy version', async () => {
    const before = await authorize({ input: toolCall('support-bot') });
    const again = await authorize({ input: toolCall('support-bot') });
    expect(again.body.result).toEqual(before.body.result);
    const metrics = await request(handlerOf(h, transport)).get('/metrics');
    const hits = Number(/argus_decision_memo_total\{outcome="hit"\} (\d+)/.exec(metrics.text)?.[1]);
    expect(hits).toBeGreaterThanOrEqual(1);
    const source = await readPolicyDir(CEDAR_DIR);
    const forbid = '@id("memo-test-forbid")\nforbid (principal == Argus::Agent::"support-bot", action, resource);\n';
    expect(h.holder.replace({ ...source, policies: [...source.policies, { file: 'memo-test.cedar', text: forbid }] }, 'directory').ok).toBe(
      true,
    );
    try {
      const after = await authorize({ input: toolCall('support-bot') });
      expect(after.body.result).toMatchObject({ allow: false, reasons: [{ policy: 'memo-test-forbid' }] });
    } finally {
      expect(h.holder.replace(source, 'directory').ok).toBe(true);
    }
    expect((await authorize({ input: toolCall('support-bot') })).body.result.allow).toBe(true);
  });
});

describe.each(TRANSPORTS)('bad input is a 4xx naming the path, and the server keeps serving (%s)', (transport) => {
  const authorize = (body: unknown) => authorizeVia(body, transport);
  const cases: Array<[string, () => request.Test, number, string]> = [
    [
      'malformed JSON',
      () => request(handlerOf(h, transport)).post('/v1/authorize').set('content-type', 'application/json').send('{"input": {'),
      400,
      'invalid_json',
    ],
    ['wrong type', () => authorize({ input: { ...toolCall('support-bot'), action: 42 } }), 400, '/input/action'],
    ['unknown field', () => authorize({ input: toolCall('support-bot'), verbose: true }), 400, '/verbose'],
    [
      'missing principal',
      () => authorize({ input: { action: 'tool:call', resource: { type: 'Tool', id: 'x' } } }),
      400,
      '/input/principal',
    ],
    ['unknown action', () => authorize({ input: { ...toolCall('support-bot'), action: 'tool:cal' } }), 400, '/input/action'],
    [
      'unknown entity type',
      () => authorize({ input: { ...toolCall('support-bot'), resource: { type: 'Toool', id: 'x' } } }),
      400,
      '/input/resource/type',
    ],
    [
      'reserved context key',
      () => authorize({ input: { ...toolCall('support-bot'), context: { intent: 'x' } } }),
      400,
      '/input/context/intent',
    ],
    [
      'body over the limit',
      () => authorize({ input: { ...toolCall('support-bot'), context: { pad: 'x'.repeat(70 * 1024) } } }),
      413,
      'body_too_large',
    ],
    [
      '10,000-deep nesting',
      () =>
        request(handlerOf(h, transport))
          .post('/v1/authorize')
          .set('content-type', 'application/json')
          .send(`{"input":${'['.repeat(10_000)}${']'.repeat(10_000)}}`),
      400,
      '/input',
    ],
    [
      'not JSON',
      () => request(handlerOf(h, transport)).post('/v1/authorize').set('content-type', 'text/plain').send('hello'),
      415,
      'unsupported_media_type',
    ],
    [
      'batch over the limit',
      () =>
        request(handlerOf(h, transport))
          .post('/v1/authorize/batch')
          .send({ inputs: Array.from({ length: 101 }, () => toolCall('support-bot')) }),
      400,
      '/inputs',
    ],
  ];
  for (const [name, send, status, mark] of cases) {
    it(name, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      // A refused decision request is recorded: its 400 carries the record's decision_id.
      expect(
        Object.keys(res.body)
          .filter((k) => k !== 'decision_id')
          .sort(),
      ).toEqual(['code', 'errors', 'message']);
      if (status === 400 && name !== 'malformed JSON' && name !== '10,000-deep nesting')
        expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(res.body)).toContain(mark);
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
      expect((await authorize({ input: toolCall('support-bot') })).body.result.allow).toBe(true);
    });
  }
});

describe.each(TRANSPORTS)(
  'the body reader of POST /v1/authorize: plain bodies read lean, encoded ones by the general parser (%s)',
  (transport) => {
    it('answers a gzip body and a latin1 one through the general parser; a broken gzip body is a 400', async () => {
      const body = JSON.stringify({ input: toolCall('support-bot') });
      const gz = await rawPost({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, [gzipSync(body)], { transport });
      expect(gz.status, gz.body).toBe(200);
      expect(JSON.parse(gz.body).result.allow).toBe(true);
      const broken = await rawPost({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, [Buffer.from(body)], { transport });
      expect(broken.status).toBe(400);
      expect(JSON.parse(broken.body).code).toBe('invalid_json');
      const latin1 = await request(handlerOf(h, transport))
        .post('/v1/authorize')
        .set('content-type', 'application/json; charset=iso-8859-1')
        .send(body);
      // JSON is UTF-8: a body declared in another charset is refused, never re-decoded.
      expect(latin1.status).toBe(415);
      expect(latin1.body.code).toBe('unsupported_media_type');
    });

    it('refuses a chunked body once it passes the limit, with no content length to go by', async () => {
      const chunks = [
        Buffer.from('{"input":{"context":{"pad":"'),
        ...Array.from({ length: 80 }, () => Buffer.from('x'.repeat(1024))),
        Buffer.from('"}}}'),
      ];
      const answer = await rawPost({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks, { transport });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).code).toBe('body_too_large');
    });

    it('names the root when the body is empty', async () => {
      const res = await request(handlerOf(h, transport)).post('/v1/authorize').set('content-type', 'application/json').send('');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_parameter');
      expect((await authorizeVia({ input: toolCall('support-bot') }, transport)).body.result.allow).toBe(true);
    });
  },
);

describe('the server listener', () => {
  it('answers as the app does, with request ids, 4xx paths and the rest left to the app', async () => {
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ input: toolCall('support-bot') });
    const direct = await rawPost({ ...json, 'x-request-id': 'req-7' }, [Buffer.from(body)]);
    expect(direct.status).toBe(200);
    expect(direct.requestId).toBe('req-7');
    const viaApp = await authorizeVia({ input: toolCall('support-bot') }, 'app');
    expect(JSON.parse(direct.body).result).toEqual(viaApp.body.result);
    const bad = await rawPost(json, [Buffer.from(JSON.stringify({ input: { ...toolCall('support-bot'), action: 7 } }))]);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).errors[0].path).toBe('/input/action');
    expect(bad.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const notJson = await rawPost(json, [Buffer.from('{"input":')]);
    expect([notJson.status, JSON.parse(notJson.body).code]).toEqual([400, 'invalid_json']);
    // Everything else is the app's: health, other routes, a 404 in the wire shape.
    expect((await rawPost({}, [], { method: 'GET', path: '/healthz' })).status).toBe(200);
    const missing = await rawPost(json, [Buffer.from('{}')], { path: '/v1/nothing' });
    expect([missing.status, JSON.parse(missing.body).code]).toEqual([404, 'not_found']);
  });
});

describe.each(TRANSPORTS)('POST /v1/authorize/batch (%s)', (transport) => {
  it('answers each input with its own decision id, sharing entities', async () => {
    const res = await request(handlerOf(h, transport))
      .post('/v1/authorize/batch')
      .send({
        inputs: [
          toolCall('support-bot'),
          { ...toolCall('support-bot', 'crm.export', undefined), resource: { type: 'Tool', id: 'crm.export' } },
        ],
        entities: [
          {
            uid: { type: 'Tool', id: 'crm.export' },
            attrs: { sensitivity: 'secret', serverTrust: 'none', allowedIntents: ['lookup-order-status'] },
          },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { result: { decision: string } }) => r.result.decision)).toEqual(['allow', 'deny']);
    expect(new Set(res.body.results.map((r: { decision_id: string }) => r.decision_id)).size).toBe(2);
  });

  it('names the failing item in the path', async () => {
    const res = await request(handlerOf(h, transport))
      .post('/v1/authorize/batch')
      .send({ inputs: [toolCall('support-bot'), { ...toolCall('x'), action: 'nope' }] });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('/inputs/1/action');
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a batch the schema refuses is recorded too: its 400 carries the record's decision_id", async () => {
    const res = await request(handlerOf(h, transport)).post('/v1/authorize/batch').send({ inputs: 'not a list' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('/inputs');
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe.each(TRANSPORTS)('OPA Data API compatibility (%s)', (transport) => {
  it('works with the official OPA TypeScript client', async () => {
    const server = await listen(h, transport);
    try {
      const opa = new OPAClient(server.url);
      expect(await opa.evaluate('argus/allow', toolCall('support-bot'))).toBe(true);
      expect(await opa.evaluate('argus/allow', toolCall('stranger'))).toBe(false);
      const full = await opa.evaluate<ReturnType<typeof toolCall>, { decision: string; reasons: unknown[] }>(
        'argus/authorize',
        toolCall('support-bot'),
      );
      expect(full.decision).toBe('allow');
    } finally {
      await server.close();
    }
  });

  it('answers documents, explain, undefined documents and bad input', async () => {
    const json = { 'content-type': 'application/json' };
    const body = Buffer.from(JSON.stringify({ input: toolCall('support-bot') }));
    const full = await rawPost(json, [body], { path: '/v1/data/argus/authorize?explain=full', transport });
    expect(full.status).toBe(200);
    expect(JSON.parse(full.body).result).toMatchObject({
      allow: true,
      policy_version: h.holder.current!.set.version,
      explanation: { request: { action: { id: toolCall('support-bot').action } } },
    });
    const root = JSON.parse((await rawPost(json, [body], { path: '/v1/data/argus/', transport })).body);
    expect(root.result).toMatchObject({ allow: true, authorize: { decision: 'allow' } });
    const encoded = JSON.parse((await rawPost(json, [body], { path: '/v1/data/argus%2Fallow', transport })).body);
    expect(encoded.result).toBe(true);
    expect(JSON.parse((await rawPost(json, [body], { path: '/v1/data/other/rule', transport })).body)).toEqual({});
    const bad = await rawPost(json, [Buffer.from(JSON.stringify({ input: { ...toolCall('support-bot'), action: 7 } }))], {
      path: '/v1/data/argus/allow',
      transport,
    });
    expect(bad.status).toBe(400);
    // The Data API answers in OPA's shape: every error item has a code, the path is in its message.
    expect(JSON.parse(bad.body).errors[0]).toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('/input/action') });
    const gz = await rawPost({ ...json, 'content-encoding': 'gzip' }, [gzipSync(body)], { path: '/v1/data/argus/allow', transport });
    expect([gz.status, JSON.parse(gz.body).result]).toEqual([200, true]);
    const broken = await rawPost({ ...json, 'content-encoding': 'gzip' }, [body], { path: '/v1/data/argus/allow', transport });
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).errors[0]).toMatchObject({ code: 'invalid_json' });
  });

  it('answers an undefined document without result, like OPA', async () => {
    const res = await request(handlerOf(h, transport))
      .post('/v1/data/other/rule')
      .send({ input: toolCall('support-bot') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
  });
});

describe('the server listener answers every decision route itself', () => {
  it('answers the Data API as the app does', async () => {
    const full = await rawPost({ 'content-type': 'application/json' }, [Buffer.from(JSON.stringify({ input: toolCall('support-bot') }))], {
      path: '/v1/data/argus/authorize?explain=full',
    });
    const viaApp = await request(h.app)
      .post('/v1/data/argus/authorize?explain=full')
      .send({ input: toolCall('support-bot') });
    expect(JSON.parse(full.body).result.reasons).toEqual(viaApp.body.result.reasons);
  });

  it('over an app that only answers 418: every route of the table, whatever the body encoding; nothing else', async () => {
    const body = Buffer.from(JSON.stringify({ input: toolCall('support-bot') }));
    const serve = serveDecisionRoutes({
      decisions: h.decisions,
      maxBatchSize: 10,
      limits: { maxBodyBytes: 65_536, maxJsonDepth: 32 },
      logger: silentLogger(),
    });
    const alone = decisionListener(serve, (_req, res) => void res.writeHead(418).end());
    const server = createServer(alone).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const post = (path: string, type = 'application/json', payload: Buffer = body, encoding?: string) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}) },
          body: payload,
        });
      expect((await post('/v1/authorize')).status).toBe(200);
      expect(await (await post('/v1/data/argus/allow')).json()).toMatchObject({ result: true });
      const batch = Buffer.from(JSON.stringify({ inputs: [toolCall('support-bot')] }));
      expect((await post('/v1/authorize/batch', 'application/json', batch)).status).toBe(200);
      expect((await post('/v1/authorize', 'application/json', gzipSync(body), 'gzip')).status).toBe(200);
      expect(await (await post('/v1/data/argus/allow', 'application/json', gzipSync(body), 'gzip')).json()).toMatchObject({ result: true });
      expect(await (await post('/', 'application/json', Buffer.from(JSON.stringify(toolCall('support-bot'))))).json()).toBe(true);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await post('/v1/authorize', 'text/plain')).status).toBe(415);
      // Not a route of the table: the app's.
      expect((await fetch(`${base}/v1/authorize`)).status).toBe(418);
      expect((await post('/V1/AUTHORIZE')).status).toBe(418);
      expect((await post('/v1/authorize/other')).status).toBe(418);
    } finally {
      server.close();
    }
  });
});

describe('policies', () => {
  const current = () =>
    request(h.app)
      .get('/v1/policies')
      .then((r) => r.body as { version: string; policies: Array<{ id: string }> });
  const sourceOf = () =>
    request(h.app)
      .get('/v1/policies/source')
      .then((r) => r.body as { policies: Array<{ file: string; text: string }> });

  it('lists the active set with ids and annotations', async () => {
    const body = await current();
    expect(body.policies.map((p) => p.id)).toContain('tools-serve-their-intents');
  });

  it('PUT needs the admin credential', async () => {
    const res = await request(h.app).put('/v1/policies').send({ policies: [] });
    expect(res.status).toBe(401);
  });

  it('refuses a bad set with 422 and located diagnostics, and keeps the last good one', async () => {
    const before = await current();
    const src = await sourceOf();
    const bad = [
      ...src.policies,
      { file: 'policies/bad.cedar', text: 'permit (principal, action, resource)\nwhen { principal.trsut == "trusted" };' },
    ];
    const res = await request(h.app).put('/v1/policies').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ policies: bad });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_policy');
    expect(res.body.errors[0].path).toMatch(/^policies\/bad\.cedar:2:\d+$/);
    expect((await current()).version).toBe(before.version);
    const dry = await request(h.app).post('/v1/policies/validate').send({ policies: bad });
    expect(dry.body.valid).toBe(false);
    expect((await authorizeVia({ input: toolCall('support-bot') })).body.result.allow).toBe(true);
  });

  it('20 concurrent replacements leave one consistent version', async () => {
    const src = await sourceOf();
    const variants = Array.from({ length: 20 }, (_, i) => [
      ...src.policies,
      {
        file: 'policies/extra.cedar',
        text: `@id("extra-${i}")\nforbid (principal, action, resource) when { context.now < datetime("2000-01-01") };`,
      },
    ]);
    const answers = await Promise.all(
      variants.map((policies) => request(h.app).put('/v1/policies').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ policies })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const final = await current();
    expect(answers.map((a) => a.body.version)).toContain(final.version);
    const extras = final.policies.filter((p) => p.id.startsWith('extra-'));
    expect(extras).toHaveLength(1);
    const decision = await authorizeVia({ input: toolCall('support-bot') });
    expect(decision.body.policy_version).toBe(final.version);
    // restore
    await request(h.app).put('/v1/policies').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ policies: src.policies });
  });
});

describe('health and metrics', () => {
  it('serves /healthz, /readyz and Prometheus metrics with decisions by outcome', async () => {
    expect((await request(h.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(h.app).get('/readyz')).status).toBe(200);
    const metrics = await request(h.app).get('/metrics');
    expect(metrics.text).toMatch(/argus_decisions_total\{decision="allow",caller="apdp"\} \d+/);
    expect(metrics.text).toMatch(/argus_decision_duration_seconds_bucket/);
  });

  it('answers 404 in the wire shape for unknown routes', async () => {
    const res = await request(h.app).get('/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});
