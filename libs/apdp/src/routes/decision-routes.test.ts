/**
 * The decision route table: which requests are its rows', and that both transports (the listener
 * production serves and the express app) answer every request alike — same status, same headers
 * that matter, same body but for the ids a decision draws anew.
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createAuthenticator } from '@argus/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  listen,
  seedRegistry,
  startHarness,
  toolCall,
  TRANSPORTS,
  type Harness,
  type TestServer,
} from '../testing/harness.ts';
import { DECISION_ROUTES, decisionRouteList } from './decision-routes.ts';

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

interface Answer {
  status: number;
  type: string | undefined;
  challenge: string | undefined;
  body: string;
}

/** Sends `sent` as is (no client-side normalisation of the path or the body). */
function send(base: string, sent: Sent): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: sent.method, path: sent.path, headers: sent.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          type: res.headers['content-type'],
          challenge: res.headers['www-authenticate'] as string | undefined,
          body: text,
        }),
      );
    });
    req.on('error', reject);
    req.end(sent.body);
  });
}

/** The answer with what a decision draws anew (ids, timings) replaced by placeholders. */
function comparable(answer: Answer): Answer {
  return {
    ...answer,
    body: answer.body
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
      .replace(/"(timer_\w+_ns|durationMs|evaluationMs|at|decidedAt)":\s*[\d.]+/g, '"$1":0')
      .replace(/"(at|decidedAt|expiresAt)":\s*"[^"]*"/g, '"$1":"<time>"'),
  };
}

const json = { 'content-type': 'application/json' };
const ask = JSON.stringify({ input: toolCall('support-bot') });
const REQUESTS: Sent[] = [
  { method: 'POST', path: '/v1/authorize', headers: json, body: ask },
  { method: 'POST', path: '/v1/authorize/', headers: json, body: ask },
  { method: 'POST', path: '/v1/authorize?explain=full', headers: json, body: ask },
  { method: 'POST', path: '/v1/authorize', headers: json, body: JSON.stringify({ input: toolCall('support-bot'), explain: 'none' }) },
  { method: 'POST', path: '/v1/authorize', headers: json, body: JSON.stringify({ input: { ...toolCall('support-bot'), action: 7 } }) },
  { method: 'POST', path: '/v1/authorize', headers: json, body: '{"input":' },
  { method: 'POST', path: '/v1/authorize', headers: json, body: '' },
  { method: 'POST', path: '/v1/authorize', headers: { 'content-type': 'text/plain' }, body: ask },
  { method: 'POST', path: '/v1/authorize', headers: { 'content-type': 'application/json; charset=latin1' }, body: ask },
  { method: 'POST', path: '/v1/authorize', headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(ask) },
  { method: 'POST', path: '/v1/authorize', headers: { ...json, 'content-encoding': 'gzip' }, body: ask },
  {
    method: 'POST',
    path: '/v1/authorize',
    headers: json,
    body: JSON.stringify({ input: { ...toolCall('support-bot'), pad: 'x'.repeat(70_000) } }),
  },
  { method: 'POST', path: '/v1/authorize', headers: json, body: `{"input":${'['.repeat(100)}${']'.repeat(100)}}` },
  { method: 'POST', path: '/v1/authorize/%E0%A4%A', headers: json, body: ask },
  {
    method: 'POST',
    path: '/v1/authorize/batch',
    headers: json,
    body: JSON.stringify({ inputs: [toolCall('support-bot'), toolCall('new-bot')] }),
  },
  {
    method: 'POST',
    path: '/v1/authorize/batch',
    headers: json,
    body: JSON.stringify({ inputs: [toolCall('support-bot'), { ...toolCall('x'), action: 'nope' }] }),
  },
  { method: 'POST', path: '/v1/data/argus/allow', headers: json, body: ask },
  { method: 'POST', path: '/v1/data/argus/allow?pretty', headers: json, body: ask },
  { method: 'POST', path: '/v1/data/argus%2Fdecision', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: ask },
  { method: 'POST', path: '/v1/data/argus/authorize?explain=notes', headers: json, body: ask },
  { method: 'POST', path: '/v1/data/argus/allow?explain=nope&pretty', headers: json, body: ask },
  { method: 'POST', path: '/v1/data/argus/allow', headers: { 'content-type': 'application/xml' }, body: '<input/>' },
  { method: 'POST', path: '/v1/data/argus/allow', headers: json, body: '{}' },
  { method: 'POST', path: '/v1/data/argus/allow', headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(ask) },
  { method: 'POST', path: '/v1/data/argus/allow', headers: json, body: '{"input":' },
  { method: 'POST', path: '/v1/data/%E0%A4%A', headers: json, body: ask },
  { method: 'POST', path: '/v1/data', headers: json, body: ask },
  { method: 'POST', path: '/v1/data/other/rule', headers: json, body: ask },
  { method: 'GET', path: `/v1/data/argus/decision?input=${encodeURIComponent(JSON.stringify(toolCall('support-bot')))}` },
  { method: 'GET', path: '/v1/data/argus/allow?input=%7Bnope' },
  { method: 'GET', path: '/v1/data/argus/allow', headers: { 'content-type': 'application/json; charset=latin1' } },
  { method: 'HEAD', path: '/v1/data/argus/allow' },
  { method: 'POST', path: '/', headers: json, body: JSON.stringify(toolCall('support-bot')) },
  { method: 'POST', path: '/', headers: json, body: '' },
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/health?pretty' },
  { method: 'GET', path: '/v1/authorize' },
  { method: 'POST', path: '/V1/AUTHORIZE', headers: json, body: ask },
  { method: 'POST', path: '/v1/authorize/other', headers: json, body: ask },
  { method: 'POST', path: '/v1/dataset', headers: json, body: ask },
];

describe('the table', () => {
  it('lists each decision route once, in the form the OpenAPI document and the permission table use', () => {
    const list = decisionRouteList().map((r) => `${r.method} ${r.path}`);
    expect(list).toEqual([
      'POST /v1/authorize',
      'POST /v1/authorize/batch',
      'POST ^\\/v1\\/data(?:\\/(.*))?$',
      'GET ^\\/v1\\/data(?:\\/(.*))?$',
      'POST /',
      'GET /health',
    ]);
    expect(DECISION_ROUTES.filter((r) => r.errors === 'opa').map((r) => r.body)).toEqual(['opa', 'none', 'opa', 'none']);
  });
});

describe.each([
  ['without a permission table', {}],
  ['behind the permission table', { auth: createAuthenticator({ adminToken: ADMIN_TOKEN }) }],
] as const)('both transports answer every request alike (%s)', (_name, overrides) => {
  let h: Harness;
  const servers = {} as Record<(typeof TRANSPORTS)[number], TestServer>;
  beforeAll(async () => {
    h = await startHarness(overrides);
    await seedRegistry(h);
    for (const transport of TRANSPORTS) servers[transport] = await listen(h, transport);
  });
  afterAll(async () => {
    for (const transport of TRANSPORTS) void servers[transport].close();
    await h.close();
  });

  const credentials: Array<Record<string, string>> =
    'auth' in overrides ? [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }, { authorization: 'Bearer wrong' }] : [{}];
  it.each(REQUESTS.map((r) => [`${r.method} ${r.path.slice(0, 60)} ${JSON.stringify(r.headers ?? {})}`, r] as const))(
    '%s',
    async (_label, sent) => {
      for (const credential of credentials) {
        const withCredential = { ...sent, headers: { ...sent.headers, ...credential } };
        const listener = await send(servers.listener.url, withCredential);
        const app = await send(servers.app.url, withCredential);
        expect(comparable(app), JSON.stringify(credential)).toEqual(comparable(listener));
        expect(listener.status).toBeLessThan(500);
      }
    },
  );
});
