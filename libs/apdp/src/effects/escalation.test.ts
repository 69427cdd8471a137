import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@argus/platform';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import {
  createBullEscalationQueue,
  createEscalationWorker,
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signEscalation,
  TIMESTAMP_HEADER,
  verifyEscalationSignature,
  type EscalationJob,
} from './escalation.ts';
import { buildWorld, call, seed, type World } from './testing/world.ts';

const SECRET = 'test-escalation-secret-0123456789';

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

/** A loopback webhook answering the statuses in `script` in turn (then 200). */
async function webhook(script: number[]): Promise<{ url: string; received: Received[]; server: Server; next: () => Promise<Received> }> {
  const received: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers };
      received.push(r);
      res.statusCode = script.shift() ?? 200;
      res.end();
      waiters.shift()?.(r);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let seen = 0;
  return {
    url: `http://127.0.0.1:${port}/hooks/argus`,
    received,
    server,
    next: () => {
      const i = seen++;
      if (received[i]) return Promise.resolve(received[i]!);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('webhook not called within 10 s')), 10_000);
        waiters.push((r) => {
          clearTimeout(t);
          resolve(r);
        });
      });
    },
  };
}

describe('signatures', () => {
  it('verify accepts the signed body and refuses a changed body, secret, timestamp or a stale one', () => {
    const body = '{"decisionId":"d1"}';
    const ts = 1_900_000_000_000;
    const sig = signEscalation(body, SECRET, ts);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyEscalationSignature(body, SECRET, ts, sig, { nowMs: ts + 1_000 })).toBe(true);
    expect(verifyEscalationSignature(`${body} `, SECRET, ts, sig, { nowMs: ts })).toBe(false);
    expect(verifyEscalationSignature(body, `${SECRET}x`, ts, sig, { nowMs: ts })).toBe(false);
    expect(verifyEscalationSignature(body, SECRET, ts + 1, sig, { nowMs: ts })).toBe(false);
    expect(verifyEscalationSignature(body, SECRET, ts, sig, { nowMs: ts + 10 * 60_000 })).toBe(false);
    expect(verifyEscalationSignature(body, SECRET, ts, 'sha256=00', { nowMs: ts })).toBe(false);
  });
});

describe('escalation through BullMQ', () => {
  let producer: Redis;
  const prefix = testPrefix();
  const bullPrefix = `${prefix}bull`;
  let world: World | undefined;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    producer = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  });
  /** A connection for one worker (it blocks), closed after the worker. */
  const dedicated = (): Redis => {
    const c = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    closers.push(() => c.quit());
    return c;
  };
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()!();
    await world?.close();
    world = undefined;
  });
  afterAll(async () => {
    await producer.quit();
    await deleteKeys(SHARED_REDIS_URL, prefix);
  });

  it('an escalating forbid denies, and the webhook receives the signed record, retried after a first failure', async () => {
    const hook = await webhook([503]);
    closers.push(() => new Promise((r) => hook.server.close(r)));
    const queueName = `esc-${Math.random().toString(36).slice(2, 8)}`;
    const queue = createBullEscalationQueue({ connection: producer, prefix: bullPrefix, queueName, attempts: 3, backoffMs: 50 });
    closers.push(() => queue.close());
    const worker = createEscalationWorker({
      connection: dedicated(),
      prefix: bullPrefix,
      queueName,
      webhookUrl: hook.url,
      secret: SECRET,
      timeoutMs: 2_000,
      logger: silentLogger(),
    });
    closers.push(() => worker.close());

    world = await buildWorld({
      policies: `@id("esc-secret") @reason("secret tools alert security") @effect("escalate") forbid (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "secret" };`,
      escalation: queue,
    });
    await seed(world);
    const started = Date.now();
    const r = await world.decide(call('vault.read', 'secret', { context: { environment: 'prod' } }));
    expect(r.result).toMatchObject({
      allow: false,
      decision: 'deny',
      effects: [{ policy: 'esc-secret', effect: 'escalate', status: 'applied' }],
    });

    const first = await hook.next();
    const second = await hook.next();
    const deliveredMs = Date.now() - started;
    for (const [i, got] of [first, second].entries()) {
      const ts = Number(got.headers[TIMESTAMP_HEADER]);
      expect(verifyEscalationSignature(got.body, SECRET, ts, String(got.headers[SIGNATURE_HEADER]))).toBe(true);
      expect(got.headers['x-argus-attempt']).toBe(String(i + 1));
    }
    expect(first.headers[DELIVERY_HEADER]).toBe(second.headers[DELIVERY_HEADER]);
    const body = JSON.parse(second.body) as EscalationJob & { type: string };
    expect(body).toMatchObject({
      type: 'argus.escalation',
      decisionId: r.decision_id,
      policy: 'esc-secret',
      principal: { id: 'support-bot' },
      action: 'tool:call',
      resource: { id: 'vault.read' },
      result: { decision: 'deny', reasons: [{ policy: 'esc-secret', annotations: { reason: 'secret tools alert security' } }] },
    });
    expect(second.body).not.toContain('prod');
    expect(deliveredMs).toBeLessThan(10_000);
  });

  it('a 4xx refusal is not retried; enqueueing the same decision twice delivers once', async () => {
    const hook = await webhook([400]);
    closers.push(() => new Promise((r) => hook.server.close(r)));
    const queueName = `esc-${Math.random().toString(36).slice(2, 8)}`;
    const queue = createBullEscalationQueue({ connection: producer, prefix: bullPrefix, queueName, attempts: 3, backoffMs: 20 });
    closers.push(() => queue.close());
    const job: EscalationJob = {
      decisionId: 'd-400',
      policy: 'p',
      time: new Date().toISOString(),
      principal: { type: 'Argus::Agent', id: 'a' },
      action: 'tool:call',
      resource: { type: 'Argus::Tool', id: 't' },
      result: { decision: 'deny', reasons: [], errors: [] },
    };
    await queue.enqueue(job);
    await queue.enqueue(job);
    const worker = createEscalationWorker({
      connection: dedicated(),
      prefix: bullPrefix,
      queueName,
      webhookUrl: hook.url,
      secret: SECRET,
      timeoutMs: 2_000,
      logger: silentLogger(),
    });
    closers.push(() => worker.close());
    await hook.next();
    const failed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5_000);
      const check = async () => {
        if ((await queue.queue.getFailedCount()) === 1) {
          clearTimeout(t);
          resolve(true);
        } else setTimeout(check, 50);
      };
      void check();
    });
    expect(failed).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(hook.received).toHaveLength(1);
  });
});
