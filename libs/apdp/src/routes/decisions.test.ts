import { mkdtempSync, rmSync } from 'node:fs';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuditTrail,
  createRecordBuilder,
  Chainer,
  makeDecisionEvent,
  openSqliteAuditStore,
  SECRET_CANARY,
  type AuditRecord,
  type AuditTrail,
  type SqliteAuditStore,
} from '@argus/audit';
import { errorHandler, notFoundHandler, silentLogger, UnauthorizedError } from '@argus/platform';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionsRouter } from './decisions.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-decisions-route-'));
let store: SqliteAuditStore;
let trail: AuditTrail;
let records: AuditRecord[];

function appWith(deps: Parameters<typeof createDecisionsRouter>[0]): express.Express {
  const app = express();
  app.use(createDecisionsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(silentLogger()));
  return app;
}

beforeAll(async () => {
  store = openSqliteAuditStore({ path: join(dir, 'audit.db') });
  const build = createRecordBuilder();
  const chainer = new Chainer('seed');
  const kinds = ['allow', 'deny', 'hard_deny', 'proxied'] as const;
  records = Array.from({ length: 30 }, (_, i) => chainer.chain<AuditRecord>(build(makeDecisionEvent(kinds[i % 4], i), new Date())));
  await store.write(records);
  trail = await createAuditTrail(
    { writerId: 'live', spill: { dir: join(dir, 'spill') }, buffer: { flushIntervalMs: 1 } },
    { sinks: [store] },
  );
});

afterAll(async () => {
  await trail.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET /v1/decisions', () => {
  it('lists newest first and pages with a cursor', async () => {
    const app = appWith({ query: store });
    const first = await request(app).get('/v1/decisions?limit=20').expect(200);
    expect(first.body.decisions).toHaveLength(20);
    expect(first.body.decisions[0].decision_id).toBe('dec-deny-29');
    const second = await request(app).get(`/v1/decisions?limit=20&cursor=${first.body.next_cursor}`).expect(200);
    expect(second.body.decisions).toHaveLength(10);
    expect(second.body).not.toHaveProperty('next_cursor');
    expect(JSON.stringify([first.body, second.body])).not.toContain(SECRET_CANARY);
  });

  it('filters by principal, delegation root, goal, intent, decision, policy and time', async () => {
    const app = appWith({ query: store });
    const ids = async (qs: string) =>
      ((await request(app).get(`/v1/decisions?${qs}`).expect(200)).body.decisions as AuditRecord[]).map((r) => r.decision_id).sort();
    const want = (pred: (r: AuditRecord) => boolean) =>
      records
        .filter(pred)
        .map((r) => r.decision_id)
        .sort();
    expect(await ids('principal=Agent::planner')).toEqual(want((r) => r.principal.id === 'planner'));
    expect(await ids('root=alice&decision=deny')).toEqual(want((r) => r.root?.id === 'alice' && r.outcome === 'deny'));
    expect(await ids('outcome=allow&goal=goal-7f3a&intent=lookup-order-status')).toEqual(want((r) => r.outcome === 'allow'));
    expect(await ids('policy=forbid-secret-tools')).toEqual(want((r) => r.policies.includes('forbid-secret-tools')));
    const from = records[5]!.time;
    const to = records[9]!.time;
    expect(await ids(`from=${from}&to=${to}`)).toEqual(want((r) => r.time >= from && r.time < to));
  });

  it('answers 400 naming the bad query parameter', async () => {
    const app = appWith({ query: store });
    const cases: Array<[string, string]> = [
      ['from=yesterday', 'from'],
      ['decision=maybe', 'decision'],
      ['limit=0', 'limit'],
      ['limit=5000', 'limit'],
      ['colour=red', 'colour'],
      ['cursor=bm9wZQ', 'cursor'],
      ['principal=a&principal=b', 'principal'],
      ['from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z', 'to'],
    ];
    for (const [qs, param] of cases) {
      const res = await request(app).get(`/v1/decisions?${qs}`).expect(400);
      expect(res.body.code).toBe('invalid_parameter');
      expect(res.body.message).toContain(`\`${param}\``);
      expect(res.body.errors[0].path).toBe(`/${param}`);
    }
  });
});

describe('GET /v1/decisions/:id', () => {
  it('returns one record, or 404', async () => {
    const app = appWith({ query: store });
    const res = await request(app).get('/v1/decisions/dec-proxied-3').expect(200);
    expect(res.body).toMatchObject({ decision_id: 'dec-proxied-3', proxy: { upstream: 'openai', credentialName: 'openai-prod' } });
    const missing = await request(app).get('/v1/decisions/unknown').expect(404);
    expect(missing.body).toMatchObject({ code: 'not_found' });
  });

  it('runs the auth middleware first', async () => {
    const app = appWith({
      query: store,
      auth: (req, _res, next) => next(req.headers.authorization === 'Bearer ok' ? undefined : new UnauthorizedError()),
    });
    await request(app).get('/v1/decisions/dec-allow-0').expect(401);
    await request(app).get('/v1/decisions').expect(401);
    await request(app).get('/v1/decisions/dec-allow-0').set('authorization', 'Bearer ok').expect(200);
  });
});

describe('GET /v1/decisions/stream', () => {
  it('answers 503 without a live source', async () => {
    await request(appWith({ query: store }))
      .get('/v1/decisions/stream')
      .expect(503);
  });

  it('streams live decisions matching the filters as Server-Sent Events', async () => {
    const server: Server = appWith({ query: store, live: trail }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    const events: AuditRecord[] = [];
    const done = new Promise<string>((resolve, reject) => {
      get(`http://127.0.0.1:${port}/v1/decisions/stream?decision=deny`, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes(': connected')) {
            buf = buf.replace(': connected\n\n', '');
            void (async () => {
              for (let i = 100; i < 104; i++) await trail.record(makeDecisionEvent(i % 2 === 0 ? 'allow' : 'deny', i));
            })();
          }
          for (const block of buf.split('\n\n').slice(0, -1)) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)) as AuditRecord);
          }
          buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
          if (events.length >= 2) {
            res.destroy();
            resolve(buf);
          }
        });
      }).on('error', reject);
    });
    await done;
    server.close();
    expect(events.map((e) => e.decision_id)).toEqual(['dec-deny-101', 'dec-deny-103']);
    expect(JSON.stringify(events)).not.toContain(SECRET_CANARY);
  });

  it('refuses paging parameters on the stream', async () => {
    const res = await request(appWith({ query: store, live: trail }))
      .get('/v1/decisions/stream?limit=5')
      .expect(400);
    expect(res.body.message).toContain('`limit`');
  });
});
