/**
 * Graceful shutdown under load: SIGTERM reaches a decision point while a steady load runs and
 * several requests are half-sent. Every request that was in flight is answered, every answered
 * decision is in the audit trail (the buffer only flushes at shutdown here), and the process
 * exits 0 within `server.shutdownGraceMs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { APP_SERVICE_TOKEN, invoke, startApdpReplica } from './support/argus-fixture.ts';
import type { AppProcess } from './support/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-shutdown-'));
const prefix = testPrefix();
let apdp: AppProcess | undefined;

afterAll(async () => {
  await apdp?.stop(2_000);
  await deleteKeys(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts a decision request with `Expect: 100-continue`; `accepted` resolves once the server has
 * read its headers and dispatched it (the `100 Continue`), after which half the body is sent.
 * `finish()` sends the rest and resolves with the status.
 */
function halfSent(url: string): { accepted: Promise<void>; finish: () => Promise<number> } {
  const body = Buffer.from(JSON.stringify({ input: invoke('shutdown-bot', 'gpt-4o') }));
  const { hostname, port } = new URL(url);
  const req = httpRequest({
    host: hostname,
    port,
    path: '/v1/authorize',
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': body.length,
      expect: '100-continue',
      authorization: `Bearer ${APP_SERVICE_TOKEN}`,
    },
  });
  const accepted = new Promise<void>((resolve) =>
    req.once('continue', () => {
      req.write(body.subarray(0, body.length >> 1));
      resolve();
    }),
  );
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    accepted,
    finish: () => {
      req.end(body.subarray(body.length >> 1));
      return answered;
    },
  };
}

it('SIGTERM under load: in-flight requests answered, audit flushed, exit 0 within the grace period', async () => {
  const graceMs = 8_000;
  apdp = await startApdpReplica({
    name: 'apdp-shutdown',
    dir,
    storeUrl: `sqlite:${join(dir, 'store.db')}`,
    redisUrl: SHARED_REDIS_URL,
    redisPrefix: prefix,
    shutdownGraceMs: graceMs,
    // Nothing reaches the sink before shutdown: the records must be flushed by it.
    auditExtra: 'buffer: { batchSize: 100000, flushIntervalMs: 60000, maxRecords: 1000000 }',
  });
  const url = apdp.url;

  let answered = 0;
  let failedBeforeSignal = 0;
  let failedAfterSignal = 0;
  let signalled = false;
  const statuses = new Set<number>();
  const loop = async () => {
    while (!signalled || answered < 1_000_000) {
      try {
        const res = await fetch(`${url}/v1/authorize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${APP_SERVICE_TOKEN}` },
          body: JSON.stringify({ input: invoke('shutdown-bot', 'gpt-4o') }),
        });
        await res.arrayBuffer();
        statuses.add(res.status);
        if (res.status === 200) answered++;
      } catch {
        if (signalled) {
          failedAfterSignal++;
          return; // the server no longer accepts connections: stop this client
        }
        failedBeforeSignal++;
      }
    }
  };
  const load = Array.from({ length: 6 }, loop);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(answered).toBeGreaterThan(10);

  const inFlight = Array.from({ length: 5 }, () => halfSent(url));
  // Every one of them has been read and dispatched by the server: they are in flight.
  await Promise.all(inFlight.map((r) => r.accepted));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  signalled = true;
  apdp.child.kill('SIGTERM');
  // The half-sent requests complete after the signal: they must still be answered.
  await new Promise((r) => setTimeout(r, 300));
  const lateStatuses = await Promise.all(inFlight.map((r) => r.finish()));
  const code = await apdp.exited;
  const tookMs = performance.now() - t0;
  await Promise.all(load);

  expect(lateStatuses).toEqual([200, 200, 200, 200, 200]);
  expect([...statuses]).toEqual([200]);
  expect(failedBeforeSignal).toBe(0);
  if (code !== 0) console.error(apdp.logs.filter((l) => (l.level as number) >= 40));
  expect(code).toBe(0);
  expect(tookMs).toBeLessThan(graceMs);
  expect(apdp.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
  expect(apdp.logs.some((l) => l.msg === 'shutdown grace period exceeded')).toBe(false);

  const db = new Database(join(dir, 'apdp-shutdown-audit.db'), { readonly: true });
  const rows = (
    db.prepare("SELECT COUNT(*) AS n FROM audit_records WHERE kind = 'decision' AND principal_id = 'shutdown-bot'").get() as { n: number }
  ).n;
  db.close();
  expect(rows).toBe(answered + lateStatuses.length);
  process.stdout.write(
    `\nGraceful shutdown: ${answered + lateStatuses.length} decisions answered (${lateStatuses.length} half-sent at SIGTERM), ${rows} audit records flushed, ${failedAfterSignal} clients refused after the signal, exit ${code} in ${Math.round(tookMs)} ms\n`,
  );
}, 120_000);
