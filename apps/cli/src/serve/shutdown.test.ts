/**
 * `argus serve` shutting down on SIGTERM (issue 16 item 6), on the real binary as a child process:
 * both listeners stop accepting at once, calls in flight get `server.shutdownGraceMs` to finish,
 * the rest are answered in their SDK's dialect and recorded as `aborted`, the decision stream gets
 * a final event, and the exit code says whether the drain was clean (0) or not (1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAgentToken } from '@argus/proxy';

const BIN = fileURLToPath(new URL('../../bin/argus.mjs', import.meta.url));
const CEDAR = resolve(import.meta.dirname, '../../../../cedar');
const BOT_TOKEN = 'argus_shutdown_bot_7a6b5c4d';
const GRACE_MS = 2000;

/** A model upstream: `quick` answers after 700 ms, `stuck` never answers, `stuck-stream` streams one chunk then stalls. */
async function slowUpstream(): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const doc = JSON.parse(body || '{}') as { model?: string; stream?: boolean };
      seen.push(doc.model ?? '');
      const answer = {
        id: 'c1',
        object: 'chat.completion',
        created: 1,
        model: doc.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'done', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      };
      if (doc.model === 'quick') {
        setTimeout(() => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(answer));
        }, 700);
      } else if (doc.model === 'stuck-stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: doc.model, choices: [{ index: 0, delta: { content: 'first' }, finish_reason: null }] })}\n\n`,
        );
      }
      // `stuck`: no answer at all.
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

interface Served {
  child: ChildProcess;
  url: string;
  proxyUrl: string;
  dataDir: string;
  exited: Promise<{ code: number | null; at: number }>;
}

/** Starts `argus serve` from the sources with a proxy in front of `upstream`; resolves once both listeners are up. */
async function startServe(dir: string, upstream: string): Promise<Served> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'argus.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { port: 0, shutdownGraceMs: GRACE_MS },
      policy: { dir: CEDAR },
      proxy: {
        listen: { port: 0 },
        auth: { agentTokens: [{ agent: 'bot', sha256: hashAgentToken(BOT_TOKEN) }] },
        upstreams: [
          {
            name: 'openai',
            kind: 'openai',
            prefix: '/openai',
            target: upstream,
            timeouts: { connectMs: 1000, idleMs: 60_000, totalMs: 60_000 },
          },
        ],
      },
    }),
  );
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      humans: [{ id: 'alice', email: 'alice@example.com', roles: ['support'] }],
      agents: [{ id: 'bot', name: 'bot', owner: 'alice', kind: 'assistant', trust: 'trusted' }],
    }),
  );
  const dataDir = join(dir, 'data');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    NO_COLOR: '1',
    ARGUS_FROM_SOURCE: '1',
    ARGUS_SECRETS_KEY: 'c'.repeat(64),
    ARGUS_LOG_LEVEL: 'warn',
  };
  const child = spawn(process.execPath, [BIN, 'serve', '-c', config, '--data-dir', dataDir, '--seed', seed], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.once('exit', (code) => r({ code, at: Date.now() })));
  const urls = await new Promise<{ url: string; proxyUrl: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`argus serve did not start: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/[\d.:]+) \(proxy on (http:\/\/[\d.:]+)\)/.exec(err);
      if (m) {
        clearTimeout(timer);
        res({ url: m[1]!, proxyUrl: m[2]! });
      }
    });
    void exited.then(({ code }) => rej(new Error(`argus serve exited ${code}: ${err}`)));
  });
  const admin = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const lease = await fetch(`${urls.url}/v1/registry/agents/bot/lease`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttlMs: 600_000 }),
  });
  expect(lease.status).toBe(200);
  return { child, ...urls, dataDir, exited };
}

/** Resolves with the error code of a fresh connection to `url` (`ECONNREFUSED` once the listener is closed). */
function connect(url: string): Promise<string> {
  return new Promise((res) => {
    const req = request(`${url}/healthz`, { agent: false }, (r) => {
      r.resume();
      res(`status ${r.statusCode}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? e.message));
    req.end();
  });
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True once a fresh connection to `url` is refused, polled for up to `ms`. */
async function refusedWithin(url: string, ms: number): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if ((await connect(url)) === 'ECONNREFUSED') return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** The audit records of the data dir, as written by the time the process exited. */
function auditRecords(dataDir: string): Array<{ resource?: { id?: string }; proxy?: { error?: string } }> {
  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  try {
    return (db.prepare('SELECT record FROM audit_records').all() as Array<{ record: string }>).map(
      (r) => JSON.parse(r.record) as ReturnType<typeof auditRecords>[number],
    );
  } finally {
    db.close();
  }
}

describe('argus serve on SIGTERM', () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof slowUpstream>>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'argus-shutdown-'));
    upstream = await slowUpstream();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    upstream?.server.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.server.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a call in flight finish within the grace, refuses new connections on both listeners meanwhile, and exits 0', async () => {
    const served = await startServe(join(dir, 'clean'), upstream.url);
    children.push(served.child);
    const client = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${served.proxyUrl}/openai/v1`, maxRetries: 0 });
    const before = upstream.seen.length;
    const call = client.chat.completions.create({ model: 'quick', messages: [{ role: 'user', content: 'hi' }] });
    await until(() => upstream.seen.length > before);
    const signalled = Date.now();
    served.child.kill('SIGTERM');
    // Draining: the call is still in flight, and neither listener takes a new connection (polled:
    // on a loaded machine the signal may take a moment to be handled).
    expect(await refusedWithin(served.url, 1500)).toBe(true);
    expect(await connect(served.proxyUrl)).toBe('ECONNREFUSED');
    const answer = await call;
    expect(answer.choices[0]?.message.content).toBe('done');
    const { code, at } = await served.exited;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(GRACE_MS);
    const records = auditRecords(served.dataDir).filter((r) => r.resource?.id === 'quick');
    expect(records.map((r) => r.proxy?.error)).toEqual([undefined]);
  }, 90_000);

  it('aborts the calls still open at the grace with an `aborted` record and a final event, ends the decision stream, and exits 1 in bounded time', async () => {
    const served = await startServe(join(dir, 'aborted'), upstream.url);
    children.push(served.child);
    const admin = readFileSync(join(served.dataDir, 'admin-token'), 'utf8').trim();
    const stream = await fetch(`${served.url}/v1/decisions/stream`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(200);
    const streamText = stream.text();

    const client = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${served.proxyUrl}/openai/v1`, maxRetries: 0 });
    const before = upstream.seen.length;
    const stuck = client.chat.completions.create({ model: 'stuck', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const streamed = await client.chat.completions.create({
      model: 'stuck-stream',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const chunks: string[] = [];
    const read = (async () => {
      try {
        for await (const chunk of streamed) chunks.push(chunk.choices[0]?.delta.content ?? '');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    await until(() => upstream.seen.length >= before + 2 && chunks.length === 1);

    const signalled = Date.now();
    served.child.kill('SIGTERM');
    // The decision stream ends at once with its final event, long before the grace.
    const text = await streamText;
    expect(Date.now() - signalled).toBeLessThan(GRACE_MS);
    expect(text).toMatch(/event: shutdown\ndata: \{"reason":"server shutting down"\}\n\n$/);

    // Past the grace: a 503 in OpenAI's shape for the call with no answer yet, an error event mid-stream.
    const refused = await stuck;
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((refused as Error).message).toMatch(/shutting down/);
    const cut = await read;
    expect(cut).toBeInstanceOf(OpenAI.APIError);
    expect((cut as Error).message).toMatch(/shutting down/);
    expect(chunks).toEqual(['first']);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(GRACE_MS - 50);

    const { code, at } = await served.exited;
    expect(code).toBe(1);
    expect(at - signalled).toBeLessThan(GRACE_MS + 5000);
    const records = auditRecords(served.dataDir).filter((r) => r.resource?.id?.startsWith('stuck'));
    expect(records.map((r) => [r.resource?.id, r.proxy?.error]).sort()).toEqual([
      ['stuck', 'aborted'],
      ['stuck-stream', 'aborted'],
    ]);
  }, 90_000);

  it('records, at the next start, a call a kill -9 cut off after it reached the upstream (interrupted), and nothing twice after a clean stop', async () => {
    const crashDir = join(dir, 'crash');
    const first = await startServe(crashDir, upstream.url);
    children.push(first.child);
    const stuck = (proxyUrl: string) => {
      const client = new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${proxyUrl}/openai/v1`, maxRetries: 0 });
      return client.chat.completions.create({ model: 'stuck', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    };
    let before = upstream.seen.length;
    const cut = stuck(first.proxyUrl);
    await until(() => upstream.seen.length > before);
    first.child.kill('SIGKILL');
    await first.exited;
    await cut;
    // Nothing recorded the call: it was in flight when the process died.
    expect(auditRecords(first.dataDir).filter((r) => r.resource?.id === 'stuck')).toEqual([]);

    // The next start records it from the journal before serving; a clean stop then leaves nothing to recover.
    const second = await startServe(crashDir, upstream.url);
    children.push(second.child);
    before = upstream.seen.length;
    const drained = stuck(second.proxyUrl);
    await until(() => upstream.seen.length > before);
    second.child.kill('SIGTERM');
    await drained;
    await second.exited;
    const third = await startServe(crashDir, upstream.url);
    children.push(third.child);
    third.child.kill('SIGTERM');
    await third.exited;
    const records = auditRecords(first.dataDir).filter((r) => r.resource?.id === 'stuck');
    expect(records.map((r) => r.proxy?.error)).toEqual(['interrupted', 'aborted']);
  }, 120_000);
});
