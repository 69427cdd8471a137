/**
 * The known advisories of `http-proxy` 1.18.1 (unmaintained since 2020) and of
 * `http-proxy-middleware` 3, under which it runs, each with the test that shows it does not apply
 * to the proxy as Argus configures it. `docs/security.md` (section "Advisories of http-proxy")
 * lists the same advisories; a new one gets a row there and a test here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { DecisionPoint } from '@argus/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './testing/harness.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const TOKEN = 'argus_advisory_bot_token';
const SECRET = 'sk-advisory-upstream-key';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let upstream: { url: string; server: Server; seen: Seen[] };
let elsewhere: { url: string; server: Server; hits: number };
let proxy: RunningProxy;

/** Allows every call: the advisories are about transport, not about policy. */
const allowAll: DecisionPoint = {
  async decide() {
    return { decision_id: 'advisory-test', policy_version: 'test', result: { allow: true, decision: 'allow', reasons: [], errors: [] } };
  },
};

async function listen(handler: Parameters<typeof createServer>[1] & object): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

beforeAll(async () => {
  const seen: Seen[] = [];
  const up = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (req.url?.startsWith('/redirect')) {
        res.writeHead(302, { location: `${elsewhere.url}/stolen` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  upstream = { ...up, seen };
  const other = await listen((_req, res) => {
    elsewhere.hits++;
    res.end();
  });
  elsewhere = { ...other, hits: 0 };
  proxy = await startProxy({
    decisionPoint: allowAll,
    secrets: { 'upstream-key': SECRET },
    tokens: { bot: TOKEN },
    config: { upstreams: [{ name: 'h', kind: 'http', prefix: '/h', target: upstream.url, credential: { name: 'upstream-key' } }] },
  });
});

afterAll(async () => {
  await proxy?.close();
  await stop(upstream.server);
  await stop(elsewhere.server);
});

/** One raw request (fetch refuses `Expect`, `Trailer` and a foreign `Host`); the body waits for `100 Continue` when asked. */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { method = 'GET', headers = {}, body } = options;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      `${proxy.url}${path}`,
      { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers }, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body && headers.expect) req.on('continue', () => req.end(body));
    else req.end(body);
  });
}

/** A request written on a socket, for what Node's own client refuses to send (a `Trailer` on a GET); answers the status. */
function sendRaw(path: string, extraHeaders: string[]): Promise<number> {
  const { hostname, port } = new URL(proxy.url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        [
          `GET ${path} HTTP/1.1`,
          `Host: ${hostname}:${port}`,
          `Authorization: Bearer ${TOKEN}`,
          ...extraHeaders,
          'Connection: close',
          '',
          '',
        ].join('\r\n'),
      );
    });
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('end', () => {
      resolvePromise(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    });
    socket.on('error', reject);
  });
}

/** The proxy still answers: an advisory's crash would have taken the process (and this server) down. */
async function stillUp(): Promise<void> {
  expect((await send('/h/alive')).status).toBe(200);
}

const lastSeen = () => upstream.seen[upstream.seen.length - 1]!;

function installedVersion(name: string): number[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return pkg.version.split('.').map(Number);
}

function atLeast(version: number[], wanted: number[]): boolean {
  for (let i = 0; i < wanted.length; i++) if ((version[i] ?? 0) !== wanted[i]) return (version[i] ?? 0) > wanted[i]!;
  return true;
}

function proxySources(): string {
  const dir = resolve(import.meta.dirname);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('http-proxy 1.18.1', () => {
  it('GHSA-6x33-pw7p-hmpq (setHeader + long body, fixed by skipping proxyReq on `Expect`): `Expect` is stripped, so the hook that injects the credential and writes the decided body always runs', async () => {
    expect(installedVersion('http-proxy')).toEqual([1, 18, 1]);
    const body = Buffer.alloc(20_000, 'x');
    const res = await send('/h/v1/upload', { method: 'POST', headers: { expect: '100-continue', 'content-type': 'text/plain' }, body });
    expect(res.status).toBe(200);
    const seen = lastSeen();
    expect(seen.headers.expect).toBeUndefined();
    expect(seen.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(seen.body.equals(body)).toBe(true);
    await stillUp();
  });

  it('node-http-proxy#1647 (a `Trailer` header on a GET crashes the process, unfixed): `Trailer` is hop-by-hop and never forwarded', async () => {
    expect(await sendRaw('/h/v1/items', ['Trailer: x-checksum'])).toBe(200);
    expect(lastSeen().headers.trailer).toBeUndefined();
    await stillUp();
  });

  it('follow-redirects advisories (GHSA-jchw-25xp-jwwc, GHSA-cxjh-pqwp-8mfp, ...): redirects are never followed, the agent gets the 302 itself', async () => {
    const before = elsewhere.hits;
    const res = await send('/h/redirect');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${elsewhere.url}/stolen`);
    expect(elsewhere.hits).toBe(before);
  });
});

describe('http-proxy-middleware 3', () => {
  it('GHSA-c7qv-q95q-8v27 (CVE-2024-21536, micromatch rejection on crafted paths, < 3.0.3): fixed in the installed version, and no path filter is given', async () => {
    expect(atLeast(installedVersion('http-proxy-middleware'), [3, 0, 3])).toBe(true);
    expect(proxySources()).not.toMatch(/pathFilter/);
    for (const path of ['/h/**/{a,b}/[x]/!(y)', `/h/${'a/'.repeat(2000)}`, '/h/%2A%2A/%7Ba%2Cb%7D', '/h/..%2F..%2Fetc']) {
      const res = await send(path);
      expect(res.status, path).toBeLessThan(500);
    }
    await stillUp();
  });

  it('GHSA-64mm-vxmg-q3vj (CVE-2026-55602, `router` host+path substring match, < 3.0.6): no `router` option, and a forged `Host` still reaches the configured target only', async () => {
    expect(atLeast(installedVersion('http-proxy-middleware'), [3, 0, 6])).toBe(true);
    expect(proxySources()).not.toMatch(/\brouter\s*:/);
    const res = await send('/h/api', { headers: { host: `evil${new URL(upstream.url).host}` } });
    expect(res.status).toBe(200);
    expect(lastSeen().headers.host).toBe(new URL(upstream.url).host);
  });

  it('GHSA-4www-5p9h-95mh, GHSA-9gqv-wp59-fq42, GHSA-gcq2-9pq2-cxqm (`fixRequestBody`: double write, failed parser, multipart CRLF injection): never used, the raw body is forwarded byte for byte', async () => {
    expect(atLeast(installedVersion('http-proxy-middleware'), [3, 0, 7])).toBe(true);
    expect(proxySources()).not.toMatch(/fixRequestBody|responseInterceptor/);
    const body = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-data; name="injected"\r\n\r\nx\r\n--b--\r\n',
    );
    const res = await send('/h/form', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body });
    expect(res.status).toBe(200);
    expect(lastSeen().body.equals(body)).toBe(true);
  });
});
