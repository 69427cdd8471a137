import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { silentLogger } from './logger.ts';
import { SHUTDOWN_EVENT, Shutdown } from './shutdown.ts';

/**
 * A server whose `/slow` answers after `slowMs`, `/stream` opens an endless event stream (after
 * `slowMs` for `/late-stream`), anything else answers at once; `arrived` resolves on each request.
 */
async function listen(slowMs: number): Promise<{ server: Server; url: string; arrived: () => Promise<void> }> {
  let onArrival: () => void = () => undefined;
  const server = createServer((req, res: ServerResponse) => {
    onArrival();
    const stream = () => {
      res.setHeader('content-type', 'text/event-stream');
      res.flushHeaders();
      res.write(': open\n\n');
    };
    if (req.url === '/slow') setTimeout(() => res.end('slow'), slowMs);
    else if (req.url === '/stream') stream();
    else if (req.url === '/late-stream') setTimeout(stream, slowMs);
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const arrived = () => new Promise<void>((r) => (onArrival = r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrived };
}

/** The status, or the error code of a fresh connection. */
function get(url: string): Promise<string> {
  return new Promise((res) => {
    const req = request(url, { agent: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res(`${r.statusCode} ${body}`));
      r.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
    });
    req.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
    req.end();
  });
}

describe('Shutdown', () => {
  it('closes every listener at once, drains, then runs the closers last-in first-out', async () => {
    const a = await listen(300);
    const b = await listen(300);
    const order: string[] = [];
    const shutdown = new Shutdown(silentLogger(), 2000);
    shutdown.add({ name: 'store', close: () => void order.push('store') });
    shutdown.add({ name: 'audit', close: () => void order.push('audit') });
    shutdown.addServer('a', a.server);
    shutdown.addServer('b', b.server);
    const arrived = a.arrived();
    const slow = get(`${a.url}/slow`);
    await arrived;
    const report = shutdown.run();
    // Both refuse new connections while `a` still drains its slow request.
    expect(await get(`${a.url}/`)).toBe('ECONNREFUSED');
    expect(await get(`${b.url}/`)).toBe('ECONNREFUSED');
    expect(order).toEqual([]);
    expect(await slow).toBe('200 slow');
    expect(await report).toEqual({ clean: true, aborted: 0, failed: [] });
    expect(order).toEqual(['audit', 'store']);
    expect(await shutdown.run()).toEqual({ clean: true, aborted: 0, failed: [] });
  });

  it('ends event streams with a final event when asked, instead of waiting out the grace', async () => {
    const a = await listen(0);
    const shutdown = new Shutdown(silentLogger(), 5000);
    shutdown.addServer('a', a.server, { endStreams: true });
    const response = await fetch(`${a.url}/stream`);
    const text = response.text();
    const started = Date.now();
    expect(await shutdown.run()).toMatchObject({ clean: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await text).toBe(`: open\n\n${SHUTDOWN_EVENT}`);
  });

  it('also ends a stream its request opens after the shutdown began (accepted just before the socket closed)', async () => {
    const a = await listen(200);
    const shutdown = new Shutdown(silentLogger(), 5000);
    shutdown.addServer('a', a.server, { endStreams: true });
    const arrived = a.arrived();
    const text = fetch(`${a.url}/late-stream`).then((r) => r.text());
    await arrived;
    const started = Date.now();
    expect(await shutdown.run()).toMatchObject({ clean: true });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await text).toBe(`: open\n\n${SHUTDOWN_EVENT}`);
  });

  it('past the grace calls the abort hooks, closes what is left and reports the drain unclean', async () => {
    const a = await listen(60_000);
    const calls: string[] = [];
    const shutdown = new Shutdown(silentLogger(), 300, 1000);
    shutdown.add({ name: 'broken', close: () => Promise.reject(new Error('no')) });
    shutdown.addServer('a', a.server, {
      drain: { start: () => void calls.push('start'), inFlight: () => 2, abort: () => void calls.push('abort') },
    });
    const arrived = a.arrived();
    const stuck = get(`${a.url}/slow`);
    await arrived;
    const started = Date.now();
    const report = await shutdown.run();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(report).toEqual({ clean: false, aborted: 2, failed: ['broken'] });
    expect(calls).toEqual(['start', 'abort']);
    expect(await stuck).toBe('ECONNRESET');
  });
});
