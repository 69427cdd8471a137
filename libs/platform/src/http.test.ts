import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import express from 'express';
import { toErrorBody } from './errors.ts';
import { createHttpServer, errorHandler, findTooDeep, jsonBody, readJsonBody, sendJson } from './http.ts';
import { silentLogger } from './logger.ts';
import { halfClosedExchange, rawExchange } from './testing/raw-http.ts';

/** Nesting of a JSON value: 0 for a scalar, 1 + the deepest child for an object or array. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** The value a JSON Pointer names. */
function at(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], root);
}

describe('findTooDeep', () => {
  it('finds a value nested deeper than the limit exactly when there is one, and names a container at the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 7 }), fc.integer({ min: 1, max: 7 }), (value, max) => {
        const path = findTooDeep(value, max);
        if (depthOf(value) <= max) {
          expect(path).toBeUndefined();
          return;
        }
        expect(path).toBeDefined();
        const found = at(value, path!);
        expect(found !== null && typeof found === 'object').toBe(true);
        expect(path!.split('/').length - 1).toBe(max);
      }),
      { numRuns: 2_000 },
    );
  });

  it('walks a hostile 100,000-deep document without overflowing the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(findTooDeep(deep, 64)).toBe(`/${Array(64).fill(0).join('/')}`);
    expect(findTooDeep({ 'a/b': { '~': [[1]] } }, 3)).toBe('/a~1b/~0/0');
  });
});

describe('createHttpServer', () => {
  async function answerTo(server: Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      return await halfClosedExchange(`http://127.0.0.1:${port}`, 'POST /echo HTTP/1.1\r\nHost: argus', '{"a":1}');
    } finally {
      server.close();
    }
  }
  // The handler answers after the request has ended, as the decision routes do once they have the body.
  const echo: RequestListener = (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => setTimeout(() => res.end(`got ${body}`), 10));
  };

  it('answers a client that half-closes once its request is sent, then ends the connection', async () => {
    const answer = await answerTo(createHttpServer({}, echo));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer.endsWith('got {"a":1}')).toBe(true);
  });

  it('takes a client whose side closes once its answer has begun (a stream) as gone, and closes the connection at once', async () => {
    let closed: () => void = () => undefined;
    const streamClosed = new Promise<void>((resolve) => (closed = resolve));
    const server = createHttpServer({}, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      res.on('close', closed);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      socket.write('GET /stream HTTP/1.1\r\nHost: argus\r\n\r\n');
      await new Promise((resolve) => socket.once('data', resolve));
      const ended = Date.now();
      socket.end();
      await streamClosed;
      expect(Date.now() - ended).toBeLessThan(1_000);
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it("is needed: Node's own server drops that request unanswered", async () => {
    expect(await answerTo(createServer(echo))).toBe('');
  });
});

/** A `createHttpServer` listening on loopback whose listener answers `reached` and counts the requests it was handed. */
async function countingServer(): Promise<{ url: string; calls: () => number; close: () => void }> {
  let called = 0;
  const server = createHttpServer({}, (_req, res) => {
    called++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => called, close: () => server.close() };
}

describe('createHttpServer and request targets', () => {
  it('answers a target that is not a path, or carries a fragment, with a 400 in the error shape, and never calls the listener', async () => {
    const { url, calls, close } = await countingServer();
    try {
      for (const target of ['http://argus.test/v1/policies', 'HTTP://argus.test', '*', '/v1/policies#x', '/billing/..#', '/v1/x?a#b']) {
        const answer = await rawExchange(url, `PUT ${target} HTTP/1.1\r\nHost: argus.test`, '{}');
        expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
          code: 'invalid_parameter',
          errors: [{ path: target }],
        });
      }
      expect(await rawExchange(url, 'PUT /v1/policies HTTP/1.1\r\nHost: argus.test', '{}')).toMatch(/reached$/);
      expect(calls()).toBe(1);
    } finally {
      close();
    }
  });
});

describe('jsonBody and content encodings', () => {
  it('answers an encoding it cannot read (stacked, unknown) with a 415 naming the header', async () => {
    const app = express();
    app.post('/', ...jsonBody({ maxBodyBytes: 1024, maxJsonDepth: 8 }), (req, res) => void res.json(req.body));
    app.use(errorHandler(silentLogger()));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      for (const encoding of ['gzip, gzip', 'identity, gzip', 'compress']) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
          body: '{}',
        });
        expect(res.status, encoding).toBe(415);
        expect(await res.json()).toMatchObject({ code: 'unsupported_media_type', errors: [{ path: '/headers/content-encoding' }] });
      }
    } finally {
      server.close();
    }
  });
});

describe('createHttpServer and requests Node refuses to parse', () => {
  it('answers them in the one error shape, naming what was wrong, and CONNECT too', async () => {
    const { url, calls, close } = await countingServer();
    try {
      const cases: [head: string, status: number, path: string][] = [
        ['POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3', 400, ''],
        ['POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3', 400, ''],
        [`GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}`, 431, '/headers'],
        ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443', 400, 'example.com:443'],
        ['GET /x HTTP/1.1\r\nX-No-Host: 1', 400, '/headers/host'],
        ['GET /x HTTP/1.1\r\nHost: a\r\nHost: b', 400, '/headers/host'],
      ];
      for (const [head, status, path] of cases) {
        const answer = await rawExchange(url, head, '{}');
        expect(answer.slice(0, 40), head.slice(0, 60)).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; errors: { path: string }[] };
        expect(body.code).toBe('invalid_parameter');
        expect(body.errors[0]!.path).toBe(path);
      }
      expect(calls()).toBe(0);
    } finally {
      close();
    }
  });
});

describe('JSON bodies that are not UTF-8', () => {
  const limits = { maxBodyBytes: 1024, maxJsonDepth: 8 };
  const bad = Buffer.concat([Buffer.from('{"id":"support-bot'), Buffer.from([0xff]), Buffer.from('"}')]);

  async function post(listener: RequestListener, body: Buffer): Promise<{ status: number; text: string }> {
    const server = createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, text: await res.text() };
    } finally {
      server.close();
    }
  }

  it('are refused with a 400 by the hot routes’ reader and by the express parser, never decoded with U+FFFD', async () => {
    const lean: RequestListener = (req, res) =>
      void readJsonBody(req, limits).then(
        (v) => sendJson(res, 200, v),
        (err: unknown) => sendJson(res, toErrorBody(err).status, toErrorBody(err).body),
      );
    const app = express();
    app.post('/', ...jsonBody(limits), (req, res) => void res.json(req.body));
    app.use(errorHandler(silentLogger()));
    for (const listener of [lean, app as RequestListener]) {
      const refused = await post(listener, bad);
      expect(refused.status, refused.text).toBe(400);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'invalid_json', message: 'request body is not valid UTF-8' });
      // Valid UTF-8 beyond ASCII is read as sent.
      expect(JSON.parse((await post(listener, Buffer.from('{"id":"bot-é-😀"}'))).text)).toEqual({ id: 'bot-é-😀' });
    }
  });
});
