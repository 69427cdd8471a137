import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, createConsoleRouter, loadAssets } from './router.ts';

const here = dirname(fileURLToPath(import.meta.url));
const schema = readFileSync(join(here, '../../../../cedar/schema.cedarschema'), 'utf8');
const policyDir = join(here, '../../../../cedar/policies');
const livePolicies = readdirSync(policyDir)
  .filter((f) => f.endsWith('.cedar'))
  .map((f) => ({ file: f, text: readFileSync(join(policyDir, f), 'utf8') }));

function app(options: Parameters<typeof createConsoleRouter>[0] = {}) {
  const a = express();
  a.use(createConsoleRouter(options));
  a.use((_req, res) => void res.status(404).json({ code: 'not_found', message: 'outside', errors: [] }));
  return a;
}

describe('console router: static assets', () => {
  it('serves index.html at the base path with a strict CSP and no-cache', async () => {
    const res = await request(app()).get('/console/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(res.text).toContain('<script type="module" src="js/app.js"></script>');
  });

  it('redirects the bare base path to its slash form', async () => {
    const res = await request(app()).get('/console');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/console/');
  });

  it.each([
    ['/console/js/app.js', 'text/javascript; charset=utf-8'],
    ['/console/js/pages/live.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'text/css; charset=utf-8'],
    ['/console/favicon.svg', 'image/svg+xml'],
    ['/console/index.html', 'text/html; charset=utf-8'],
  ])('serves %s as %s', async (path, type) => {
    const res = await request(app()).get(path);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('answers 304 to a matching If-None-Match and HEAD without a body', async () => {
    const first = await request(app()).get('/console/js/api.js');
    const again = await request(app()).get('/console/js/api.js').set('if-none-match', first.headers.etag!);
    expect(again.status).toBe(304);
    const head = await request(app()).head('/console/js/api.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(first.text)));
    expect(head.text ?? '').toBe('');
  });

  it.each([
    '/console/nope.js',
    '/console/js/',
    '/console/../package.json',
    '/console/%2e%2e/router.ts',
    '/console/router.ts',
    '/console/js/app.js.map',
  ])('answers 404 in the wire shape for %s', async (path) => {
    const res = await request(app()).get(path);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('refuses other methods on assets with 405', async () => {
    const res = await request(app()).post('/console/js/app.js').send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('leaves every path outside the base path to the next handler', async () => {
    const res = await request(app()).get('/consoles/');
    expect(res.body.message).toBe('outside');
    expect((await request(app()).get('/')).body.message).toBe('outside');
  });

  it('mounts on another base path and refuses a malformed one', async () => {
    expect((await request(app({ basePath: '/ui/argus' })).get('/ui/argus/')).status).toBe(200);
    expect(() => createConsoleRouter({ basePath: 'console/' })).toThrow(/base path/);
    expect(() => createConsoleRouter({ basePath: '/console/' })).toThrow(/base path/);
  });

  it('holds only servable files, none of them referencing another origin', () => {
    const assets = loadAssets(join(here, 'public'));
    expect([...assets.keys()].sort()).toContain('/js/pages/playground.js');
    for (const [path, asset] of assets) {
      const text = asset.body.toString('utf8');
      expect(text, path).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(text, path).not.toMatch(/innerHTML|insertAdjacentHTML|eval\(|new Function/);
      expect(text, path).not.toMatch(/ style="/);
    }
  });
});

describe('console router: vendored editor modules', () => {
  it('serves every CodeMirror module the editor imports, with bare imports rewritten to vendored files', async () => {
    const a = app();
    const seen = new Set<string>();
    const queue = [
      '/console/vendor/@codemirror/view.js',
      '/console/vendor/@codemirror/lint.js',
      '/console/vendor/@codemirror/language.js',
      '/console/vendor/@codemirror/commands.js',
    ];
    while (queue.length > 0) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await request(a).get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      for (const m of res.text.matchAll(/\bfrom\s*['"]([^'"]+)['"]/g)) {
        const target = m[1]!;
        expect(target, `${path} imports ${target}`).toMatch(/^\.\.?\//);
        queue.push(new URL(target, `http://x${path}`).pathname);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(10);
  });
});

describe('console router: candidate evaluation', () => {
  const explained = {
    principal: { type: 'Argus::Agent', id: 'bot' },
    action: { type: 'Argus::Action', id: 'tool:call' },
    resource: { type: 'Argus::Tool', id: 'crm.search' },
  };
  const entities = [
    {
      uid: { type: 'Argus::Agent', id: 'bot' },
      attrs: { trust: 'trusted', kind: 'assistant', capabilities: [], leaseAlive: true },
      parents: [],
    },
    {
      uid: { type: 'Argus::Tool', id: 'crm.search' },
      attrs: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'], serverTrust: 'none' },
      parents: [],
    },
  ];

  it('rejects a body with located errors', async () => {
    const res = await request(app())
      .post('/console/api/candidate/evaluate')
      .send({ schema: 1, policies: [{ file: '../x.cedar', text: 'x' }], request: { principal: {}, extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_parameter');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/schema',
        '/policies/0/file',
        '/request/principal/type',
        '/request/action',
        '/request/context',
        '/request/entities',
        '/request/extra',
      ]),
    );
  });

  it('refuses non-JSON and malformed JSON with 4xx, never 500', async () => {
    expect((await request(app()).post('/console/api/candidate/evaluate').set('content-type', 'text/plain').send('x')).status).toBe(415);
    const bad = await request(app()).post('/console/api/candidate/evaluate').set('content-type', 'application/json').send('{"schema":');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_json');
    expect((await request(app()).get('/console/api/candidate/evaluate')).status).toBe(405);
    expect((await request(app()).get('/console/api/other')).status).toBe(404);
  });

  it('answers 422 with located diagnostics when the candidate does not compile', async () => {
    const res = await request(app())
      .post('/console/api/candidate/evaluate')
      .send({
        schema,
        policies: [{ file: 'broken.cedar', text: 'permit (principal, action, resource) when { principal.nope == 1 };' }],
        request: { ...explained, context: {}, entities },
      });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_policy');
    expect(res.body.errors[0].path).toMatch(/^broken\.cedar:\d+:\d+$/);
  });

  it('evaluates a request on the candidate: the same request flips when the candidate forbids it', async () => {
    const context = { intent: 'lookup-order-status', delegation: { depth: 0, scope: [] }, now: new Date().toISOString() };
    const base = { schema, request: { ...explained, context, entities } };
    const live = await request(app())
      .post('/console/api/candidate/evaluate')
      .send({ ...base, policies: livePolicies });
    expect(live.status, JSON.stringify(live.body)).toBe(200);
    expect(live.body.decision, JSON.stringify(live.body)).toBe('allow');
    expect(live.body.reasons.map((r: { policy: string }) => r.policy)).toEqual(['tools-serve-their-intents']);
    const forbid =
      '@id("no-crm")\n@reason("crm is frozen")\nforbid (principal, action == Argus::Action::"tool:call", resource == Argus::Tool::"crm.search");\n';
    const cand = await request(app())
      .post('/console/api/candidate/evaluate')
      .send({ ...base, policies: [...livePolicies, { file: 'freeze.cedar', text: forbid }] });
    expect(cand.status).toBe(200);
    expect(cand.body.decision).toBe('deny');
    expect(cand.body.reasons).toEqual([
      { policy: 'no-crm', effect: 'forbid', annotations: expect.objectContaining({ reason: 'crm is frozen' }) },
    ]);
    expect(cand.body.version).not.toBe(live.body.version);
  });

  it('takes the `explanation` of an `explain: "full"` answer as it is (its `closest` ignored), errors located in it', async () => {
    const context = { intent: 'lookup-order-status', delegation: { depth: 0, scope: [] }, now: new Date().toISOString() };
    const asAnswered = { request: explained, context, entities, closest: [] };
    const res = await request(app()).post('/console/api/candidate/evaluate').send({ schema, policies: livePolicies, request: asAnswered });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.decision).toBe('allow');
    expect(res.body.reasons.map((r: { policy: string }) => r.policy)).toEqual(['tools-serve-their-intents']);
    const bad = await request(app())
      .post('/console/api/candidate/evaluate')
      .send({ schema, policies: livePolicies, request: { request: { principal: {}, extra: 1 }, entities, other: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      '/request/context',
      '/request/other',
      '/request/request/action',
      '/request/request/extra',
      '/request/request/principal/id',
      '/request/request/principal/type',
      '/request/request/resource',
    ]);
  });

  it('runs the guard before the endpoint when one is given', async () => {
    const guarded = app({ authenticate: (_req, res) => void res.status(401).json({ code: 'unauthorized', message: 'no', errors: [] }) });
    expect((await request(guarded).post('/console/api/candidate/evaluate').send({})).status).toBe(401);
    expect((await request(guarded).get('/console/')).status).toBe(200);
  });
});
