import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, requireAuth } from '@argus/platform';
import type { RequestHandler } from 'express';
import { validatorFor } from '@argus/contracts';
import { MAX_REQUESTERS } from '@argus/store';
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

  it('every caller that asked for the same held decision is a requester: a service, then an admin asking the same', async () => {
    const w = await start();
    const as = (kind: string, subject: string, extra = {}) =>
      w.decisions.decide(call('t1', 'high', extra), { caller: { kind, subject }, explain: 'reasons' });
    const first = await as('service', 'app');
    const id = first.result.approval!.id;
    const second = await as('admin', 'admin');
    expect(second.result).toMatchObject({ decision: 'needs_approval', approval: { id, status: 'pending' } });
    const shown = await request(w.app).get(`/v1/approvals/${id}`).set('authorization', 'Bearer admin-token');
    expect(shown.body).toMatchObject({
      requestedBy: { kind: 'service', subject: 'app' },
      alsoRequestedBy: [{ kind: 'admin', subject: 'admin' }],
    });
    expect(validatorFor('https://argus.dev/schemas/effects/approval-request.json')(shown.body)).toMatchObject({ ok: true });
    const own = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer admin-token').send({ decision: 'approve' });
    expect(own.status).toBe(403);
    expect(own.body.message).toContain('cannot answer its own approval request');
    expect((await as('admin', 'admin', { approval: id })).result).toMatchObject({ decision: 'needs_approval' });
    const other = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:carol').send({ decision: 'approve' });
    expect(other.body).toMatchObject({ status: 'approved', decidedBy: 'carol' });
    expect((await as('admin', 'admin', { approval: id })).result).toMatchObject({ decision: 'allow' });
  });

  it('the reverse: an admin asks first, the agent asks again; both are recorded and neither answers', async () => {
    const w = await start();
    const as = (kind: string, subject: string, extra = {}) =>
      w.decisions.decide(call('t1', 'high', extra), { caller: { kind, subject }, explain: 'reasons' });
    const id = (await as('admin', 'admin')).result.approval!.id;
    expect((await as('agent', 'support-bot')).result.approval).toMatchObject({ id, status: 'pending' });
    // Naming the pending request is asking for it too.
    expect((await as('service', 'app', { approval: id })).result.approval).toMatchObject({ id, status: 'pending' });
    expect(await w.approvals.get(id, w.now())).toMatchObject({
      requestedBy: { kind: 'admin', subject: 'admin' },
      alsoRequestedBy: [
        { kind: 'agent', subject: 'support-bot' },
        { kind: 'service', subject: 'app' },
      ],
    });
    expect(
      (await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer admin-token').send({ decision: 'approve' })).status,
    ).toBe(403);
    expect(
      (await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:app').send({ decision: 'approve' })).status,
    ).toBe(403);
    expect(
      (await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:carol').send({ decision: 'approve' })).status,
    ).toBe(200);
  });

  it(`past ${MAX_REQUESTERS} distinct askers the request can only be rejected; the next ask opens a new one`, async () => {
    const w = await start();
    const ask = (subject: string) => w.decisions.decide(call('t1', 'high'), { caller: { kind: 'service', subject }, explain: 'reasons' });
    const id = (await ask('s0')).result.approval!.id;
    for (let i = 1; i <= MAX_REQUESTERS; i++) expect((await ask(`s${i}`)).result.approval?.id).toBe(id);
    expect(await w.approvals.get(id, w.now())).toMatchObject({ requestersOverflow: true });
    const approve = await request(w.app)
      .post(`/v1/approvals/${id}`)
      .set('authorization', 'Bearer human:carol')
      .send({ decision: 'approve' });
    expect(approve.status).toBe(403);
    expect(approve.body.message).toContain('cannot be approved');
    const reject = await request(w.app).post(`/v1/approvals/${id}`).set('authorization', 'Bearer human:carol').send({ decision: 'reject' });
    expect(reject.body).toMatchObject({ status: 'rejected' });
    const fresh = (await ask('s1')).result.approval!;
    expect(fresh.id).not.toBe(id);
    expect(await w.approvals.get(fresh.id, w.now())).toMatchObject({ requestedBy: { kind: 'service', subject: 's1' } });
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
