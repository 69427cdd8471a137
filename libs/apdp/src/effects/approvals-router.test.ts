import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, requireAuth } from '@argus/platform';
import type { RequestHandler } from 'express';
import { validatorFor } from '@argus/contracts';
import { createApprovalsRouter } from './approvals-router.ts';
import { buildWorld, call, seed, type World } from './testing/world.ts';

const GATED =
  '@id("gated") @effect("require_approval") permit (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "high" };';
const auth = createAuthenticator({ adminToken: 'admin-token', agentTokens: { 'support-bot': 'agent-token' } });

/** A human guard for tests: `Bearer human:<name>` authenticates `<name>`. */
const humans: RequestHandler = (req, res, next) => {
  const m = /^Bearer human:([a-z]+)$/.exec(req.headers.authorization ?? '');
  if (!m) {
    void requireAuth(auth)(req, res, next);
    return;
  }
  res.locals.subject = m[1];
  next();
};

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function start(): Promise<World> {
  world = await buildWorld({
    policies: GATED,
    routers: ({ approvals, clock }) => [createApprovalsRouter({ store: approvals, requireHuman: humans, clock })],
  });
  await seed(world);
  return world;
}

async function hold(w: World, tool: string): Promise<string> {
  const r = await w.decide(call(tool, 'high'));
  expect(r.result.decision).toBe('needs_approval');
  return r.result.approval!.id;
}

describe('approvals routes', () => {
  it('a human lists pending requests (paged), reads one, approves it; the agent retry is allowed', async () => {
    const w = await start();
    const ids: string[] = [];
    for (const tool of ['t1', 't2', 't3']) {
      ids.push(await hold(w, tool));
      w.advance(10);
    }
    const page1 = await request(w.app).get('/v1/approvals?status=pending&limit=2').set('authorization', 'Bearer human:alice');
    expect(page1.status).toBe(200);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    expect(page1.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const page2 = await request(w.app)
      .get(`/v1/approvals?status=pending&limit=2&cursor=${page1.body.next_cursor}`)
      .set('authorization', 'Bearer human:alice');
    expect(page2.body.items.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    expect(page2.body.next_cursor).toBeUndefined();

    const one = await request(w.app).get(`/v1/approvals/${ids[0]}`).set('authorization', 'Bearer admin-token');
    expect(one.body).toMatchObject({
      id: ids[0],
      status: 'pending',
      action: 'tool:call',
      resource: { id: 't1' },
      principal: { id: 'support-bot' },
      policies: ['gated'],
    });

    const approved = await request(w.app)
      .post(`/v1/approvals/${ids[0]}`)
      .set('authorization', 'Bearer human:alice')
      .send({ decision: 'approve', reason: 'ticket 42' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'alice', reason: 'ticket 42' });
    const shape = validatorFor('https://argus.dev/schemas/effects/approval-request.json');
    for (const doc of [one.body, approved.body, ...page1.body.items]) expect(shape(doc)).toMatchObject({ ok: true });
    expect((await w.decide(call('t1', 'high', { approval: ids[0] }))).result).toMatchObject({
      allow: true,
      approval: { id: ids[0], status: 'approved' },
    });
    const after = await request(w.app).get('/v1/approvals?status=pending').set('authorization', 'Bearer human:alice');
    expect(after.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
  });

  it('a rejection is final: a second answer conflicts and the retry is denied', async () => {
    const w = await start();
    const id = await hold(w, 't1');
    expect(
      (await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:bob').send({ decision: 'reject', reason: 'no' }))
        .body,
    ).toMatchObject({ status: 'rejected', decidedBy: 'bob' });
    const again = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:alice').send({ decision: 'approve' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict' });
    expect((await w.decide(call('t1', 'high', { approval: id }))).result.decision).toBe('deny');
  });

  it('an expired request cannot be answered', async () => {
    const w = await start();
    const id = await hold(w, 't1');
    w.advance(60_000);
    const late = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:alice').send({ decision: 'approve' });
    expect(late.status).toBe(409);
    expect(late.body.message).toContain('expired');
    expect((await request(w.app).get('/v1/approvals?status=expired').set('authorization', 'Bearer human:alice')).body.items).toHaveLength(
      1,
    );
  });

  it('agents cannot answer (not even their own request); no credential is a 401', async () => {
    const w = await start();
    const id = await hold(w, 't1');
    const agent = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer agent-token').send({ decision: 'approve' });
    expect(agent.status).toBe(403);
    expect(agent.body.code).toBe('forbidden');
    const self = await request(w.app)
      .post(`/v1/approvals/${id}`)
      .set('authorization', 'Bearer human:supportbot')
      .send({ decision: 'approve' });
    expect(self.status).toBe(200);
    expect((await request(w.app).get('/v1/approvals')).status).toBe(401);
    expect((await w.approvals.get(id, w.now()))?.decidedBy).toBe('supportbot');
  });

  it('a principal cannot answer a request it made', async () => {
    const w = await start();
    await w.storage.registry.createAgent({ id: 'eve', name: 'Eve', owner: 'alice', kind: 'assistant', trust: 'trusted' }, 'test');
    await w.leases.renew('agent', 'eve', 60_000);
    const r = await w.decide(call('t1', 'high', {}, 'eve'));
    const self = await request(w.app)
      .post(`/v1/approvals/${r.result.approval!.id}`)
      .set('authorization', 'Bearer human:eve')
      .send({ decision: 'approve' });
    expect(self.status).toBe(403);
    expect(self.body.message).toContain('its own approval request');
  });

  it('the caller that asked for the held decision cannot answer it (same kind and subject); anyone else may', async () => {
    const w = await start();
    const open = (id: string, requestedBy: { kind: string; subject: string }) =>
      w.approvals.create({
        principal: { type: 'Argus::Agent', id: 'support-bot' },
        action: 'tool:call',
        resource: { type: 'Argus::Tool', id: 't1' },
        contextDigest: 'a'.repeat(64),
        id,
        decisionId: `d-${id}`,
        policies: ['gated'],
        requestedBy,
        createdAt: w.now().toISOString(),
        expiresAt: new Date(w.now().getTime() + 60_000).toISOString(),
      });
    const answer = (id: string, authorization: string) =>
      request(w.app).post(`/v1/approvals/${id}`).set('authorization', authorization).send({ decision: 'approve' });
    await open('by-admin', { kind: 'admin', subject: 'admin' });
    const self = await answer('by-admin', 'Bearer admin-token');
    expect(self.status).toBe(403);
    expect(self.body).toMatchObject({ code: 'forbidden', message: expect.stringContaining('cannot answer its own approval request') });
    // A bare subject (no credential kind) is compared by subject alone: fail closed.
    expect((await answer('by-admin', 'Bearer human:admin')).status).toBe(403);
    expect((await w.approvals.get('by-admin', w.now()))?.status).toBe('pending');
    expect((await answer('by-admin', 'Bearer human:alice')).body).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    // The same subject under another kind of credential is another caller.
    await open('by-human-admin', { kind: 'human', subject: 'admin' });
    expect((await answer('by-human-admin', 'Bearer admin-token')).status).toBe(200);
  });

  it('bad input is a 400 naming the path; an unknown id is a 404', async () => {
    const w = await start();
    const id = await hold(w, 't1');
    const as = (r: request.Test) => r.set('authorization', 'Bearer human:alice');
    const cases: Array<[request.Test, string]> = [
      [as(request(w.app).post(`/v1/approvals/${id}`)).send({ decision: 'maybe' }), '/decision'],
      [as(request(w.app).post(`/v1/approvals/${id}`)).send({ reason: 'x' }), '/decision'],
      [as(request(w.app).post(`/v1/approvals/${id}`)).send({ decision: 'approve', extra: 1 }), '/extra'],
      [as(request(w.app).post(`/v1/approvals/${id}`)).send({ decision: 'approve', reason: '' }), '/reason'],
      [as(request(w.app).get('/v1/approvals?status=open')), '/status'],
      [as(request(w.app).get('/v1/approvals?limit=-1')), '/limit'],
      [as(request(w.app).get('/v1/approvals?sort=asc')), '/sort'],
      [as(request(w.app).get('/v1/approvals?cursor=not-a-cursor')), '/cursor'],
    ];
    for (const [req, path] of cases) {
      const res = await req;
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('invalid_parameter');
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await as(request(w.app).get('/v1/approvals/nope'))).status).toBe(404);
    expect((await as(request(w.app).post('/v1/approvals/nope')).send({ decision: 'approve' })).status).toBe(404);
    expect((await as(request(w.app).get('/v1/approvals/bad%2Fid'))).status).toBe(400);
  });
});
