import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, exportJWK, SignJWT, type CryptoKey } from 'jose';
import express from 'express';
import request from 'supertest';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateGovernance, verifyDelegationToken, type IntentCatalogue } from '@argus/governance';
import { createAuthenticator, errorHandler, jsonBody, notFoundHandler, silentLogger } from '@argus/platform';
import { MemoryBudgetCounter, openStorage, type Storage } from '@argus/store';
import { createGovernanceRouter } from './governance.ts';

const intents = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../../cedar/intents.json', import.meta.url)), 'utf8'),
) as IntentCatalogue;
const NOW = new Date('2030-01-01T00:00:00Z');
const at = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000).toISOString();

let humanKey: CryptoKey;
let jwks: { keys: object[] };
let tokenKeys: { privateKey: CryptoKey; publicKey: CryptoKey };

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  humanKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] };
  tokenKeys = await generateKeyPair('Ed25519');
});

const humanJwt = (sub: string) =>
  new SignJWT({ kind: 'human', roles: [] })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(humanKey);

interface Ctx {
  app: express.Express;
  storage: Storage;
  events: Array<{ topic: string; payload: Record<string, unknown> }>;
  budget: MemoryBudgetCounter;
  alice: string;
  bob: string;
}
let ctx: Ctx;

const agentTokens = { planner: 'tok-planner', researcher: 'tok-researcher', 'support-bot': 'tok-support', rogue: 'tok-rogue' };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const asAgent = (id: keyof typeof agentTokens) => bearer(agentTokens[id]);

/** Registry trust states of the agents, as the router reads them (`trusted` unless set). */
const trust = new Map<string, string>();

/** The router's clock: `NOW`, unless a test moves it. */
let clockNow = NOW;

beforeEach(async () => {
  trust.clear();
  clockNow = NOW;
  const storage = await openStorage('sqlite::memory:', { clock: () => NOW });
  const events: Ctx['events'] = [];
  const budget = new MemoryBudgetCounter();
  let n = 0;
  const router = createGovernanceRouter({
    delegations: storage.delegations,
    goals: storage.goals,
    budget,
    intents,
    auth: createAuthenticator({
      adminToken: 'tok-admin',
      agentTokens,
      serviceTokens: { pep: 'tok-service-0123456789' },
      jwks: { keys: jwks as never },
    }),
    events: { publish: async (topic, payload) => void events.push({ topic, payload: payload as Record<string, unknown> }) },
    clock: () => clockNow,
    signer: { privateKey: tokenKeys.privateKey, issuer: 'argus-test', ttlSeconds: 600 },
    maxDelegationDepth: 3,
    newId: () => `id-${++n}`,
    agentTrust: async (id) => trust.get(id) ?? 'trusted',
  });
  const app = express();
  app.use(jsonBody({ maxBodyBytes: 65_536, maxJsonDepth: 32 }));
  app.use(router);
  app.use(notFoundHandler);
  app.use(errorHandler(silentLogger()));
  ctx = { app, storage, events, budget, alice: await humanJwt('alice'), bob: await humanJwt('bob') };
});
afterEach(async () => {
  await ctx.storage.close();
});

const crm = { actions: ['tool:call'], resources: ['Tool::"crm.*"'] };
const agent = (id: string) => ({ type: 'Agent', id });

async function grant(auth: Record<string, string>, body: object) {
  return request(ctx.app).post('/v1/delegations').set(auth).send(body);
}

/** alice → planner → researcher → support-bot, each narrower. */
async function chain3() {
  const g1 = await grant(bearer(ctx.alice), {
    to: agent('planner'),
    scope: { actions: ['tool:*', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Model::"gpt-*"'] },
    expiresAt: at(10),
  });
  expect(g1.status).toBe(201);
  const g2 = await grant(asAgent('planner'), { to: agent('researcher'), scope: crm, expiresAt: at(5) });
  expect(g2.status).toBe(201);
  const g3 = await grant(asAgent('researcher'), {
    to: agent('support-bot'),
    scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] },
    expiresAt: at(1),
  });
  expect(g3.status).toBe(201);
  return [g1.body.id as string, g2.body.id as string, g3.body.id as string];
}

describe('POST /v1/delegations', () => {
  it('a human grants as themselves; agents sub-delegate within what they hold, linked to the parent', async () => {
    const [g1, g2, g3] = await chain3();
    const rec = await request(ctx.app).get(`/v1/delegations/${g3}`).set(bearer(ctx.alice));
    expect(rec.status).toBe(200);
    expect(rec.body).toMatchObject({
      id: g3,
      from: agent('researcher'),
      to: agent('support-bot'),
      parentId: g2,
      createdBy: 'researcher',
      active: true,
    });
    expect((await request(ctx.app).get(`/v1/delegations/${g2}`).set(asAgent('planner'))).body.parentId).toBe(g1);
  });

  it('refuses a grant from, or through, an agent that is revoked or quarantined', async () => {
    await chain3();
    const narrow = { to: agent('rogue'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: at(1) };
    for (const [state, who] of [
      ['quarantined', 'researcher'],
      ['revoked', 'planner'],
    ] as const) {
      trust.set(who, state);
      const r = await grant(asAgent('researcher'), narrow);
      expect(r.status, state).toBe(403);
      expect(r.body.errors[0].message).toContain(`agent_${state}: agent \`${who}\` is ${state}`);
      trust.delete(who);
    }
    expect((await grant(asAgent('researcher'), narrow)).status).toBe(201);
  });

  it('refuses a sub-agent widening its scope, naming the pattern', async () => {
    await chain3();
    const r = await grant(asAgent('researcher'), {
      to: agent('support-bot'),
      scope: { actions: ['tool:call'], resources: ['Tool::"mail.send"'] },
      expiresAt: at(1),
    });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('forbidden');
    expect(r.body.errors[0]).toMatchObject({ path: '/scope' });
    expect(r.body.errors[0].message).toMatch(/^delegation_scope_widened: .*Tool::"mail.send"/);
  });

  it('refuses an expiry beyond the parent, an agent with no grant, a cycle, and too deep a chain', async () => {
    await chain3();
    const late = await grant(asAgent('researcher'), { to: agent('support-bot'), scope: crm, expiresAt: at(6) });
    expect(late.status).toBe(403);
    expect(late.body.errors[0].message).toMatch(/^delegation_outlives_parent/);
    const rogue = await grant(asAgent('rogue'), { to: agent('support-bot'), scope: crm, expiresAt: at(1) });
    expect(rogue.body.errors[0].message).toMatch(/^delegation_unknown_hop/);
    const cycle = await grant(asAgent('support-bot'), {
      to: agent('planner'),
      scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] },
      expiresAt: at(1),
    });
    expect(cycle.status).toBe(409);
    expect(cycle.body.errors[0].message).toMatch(/^delegation_cycle/);
    const deep = await grant(asAgent('support-bot'), {
      to: agent('leaf'),
      scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] },
      expiresAt: at(1),
    });
    expect(deep.status).toBe(403);
    expect(deep.body.errors[0].message).toMatch(/^delegation_depth_exceeded/);
  });

  it("honours a grant's own maxDepth", async () => {
    await grant(bearer(ctx.alice), { to: agent('planner'), scope: crm, expiresAt: at(10), maxDepth: 1 });
    const r = await grant(asAgent('planner'), { to: agent('researcher'), scope: crm, expiresAt: at(5) });
    expect(r.status).toBe(403);
    expect(r.body.errors[0].message).toMatch(/^delegation_depth_exceeded/);
  });

  it('bad input is a 400 naming the path; impersonation is a 403; no credential a 401', async () => {
    const bad = await grant(bearer(ctx.alice), {
      to: agent('planner'),
      scope: { actions: ['tool:call'], resources: ['Tool::crm'] },
      expiresAt: at(1),
      extra: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_parameter');
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/extra', '/scope/resources/0']);
    const past = await grant(bearer(ctx.alice), { to: agent('planner'), scope: crm, expiresAt: at(-1) });
    expect(past.body.errors[0].path).toBe('/expiresAt');
    const human = await grant(bearer(ctx.alice), { to: { type: 'Human', id: 'bob' }, scope: crm, expiresAt: at(1) });
    expect(human.body.errors[0].path).toBe('/to/type');
    const spoof = await grant(bearer(ctx.alice), {
      from: { type: 'Human', id: 'bob' },
      to: agent('planner'),
      scope: crm,
      expiresAt: at(1),
    });
    expect(spoof.status).toBe(403);
    expect((await request(ctx.app).post('/v1/delegations').send({})).status).toBe(401);
    const admin = await grant(bearer('tok-admin'), {
      from: { type: 'Human', id: 'bob' },
      to: agent('planner'),
      scope: crm,
      expiresAt: at(1),
    });
    expect(admin.status).toBe(201);
    expect(admin.body).toMatchObject({ from: { type: 'Human', id: 'bob' }, createdBy: 'admin' });
  });
});

describe('an admin on behalf of others (no IdP needed)', () => {
  const admin = bearer('tok-admin');

  it('builds human → agent → sub-agent: a root grant onBehalfOf a human, then a hop for a named agent, checked as if it asked', async () => {
    const root = await grant(admin, {
      onBehalfOf: 'alice',
      to: agent('planner'),
      scope: { actions: ['tool:*'], resources: ['Tool::"crm.*"'] },
      expiresAt: at(10),
    });
    expect(root.status).toBe(201);
    expect(root.body).toMatchObject({ from: { type: 'Human', id: 'alice' }, to: agent('planner'), createdBy: 'admin' });
    const hop = await grant(admin, { from: agent('planner'), to: agent('researcher'), scope: crm, expiresAt: at(5) });
    expect(hop.status).toBe(201);
    expect(hop.body).toMatchObject({ from: agent('planner'), parentId: root.body.id, createdBy: 'admin' });
    // The same attenuation as for the agent itself: wider scope, later expiry, no grant held.
    const wide = await grant(admin, {
      from: agent('researcher'),
      to: agent('support-bot'),
      scope: { actions: ['tool:call'], resources: ['Tool::"mail.*"'] },
      expiresAt: at(1),
    });
    expect(wide.status).toBe(403);
    expect(wide.body.errors[0].message).toMatch(/^delegation_scope_widened: .*Tool::"mail\.\*"/);
    const late = await grant(admin, { from: agent('researcher'), to: agent('support-bot'), scope: crm, expiresAt: at(6) });
    expect(late.body.errors[0].message).toMatch(/^delegation_outlives_parent/);
    const none = await grant(admin, { from: agent('rogue'), to: agent('support-bot'), scope: crm, expiresAt: at(1) });
    expect(none.body.errors[0].message).toMatch(/^delegation_unknown_hop/);
  });

  it('needs a named grantor that agrees; only an admin names someone else', async () => {
    const unnamed = await grant(admin, { to: agent('planner'), scope: crm, expiresAt: at(1) });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.errors[0].path).toBe('/onBehalfOf');
    const clash = await grant(admin, {
      onBehalfOf: 'alice',
      from: { type: 'Human', id: 'bob' },
      to: agent('planner'),
      scope: crm,
      expiresAt: at(1),
    });
    expect(clash.status).toBe(400);
    expect(
      (await grant(admin, { from: { type: 'Tool', id: 'x' }, to: agent('planner'), scope: crm, expiresAt: at(1) })).body.errors[0].path,
    ).toBe('/from/type');
    expect((await grant(bearer(ctx.alice), { onBehalfOf: 'bob', to: agent('planner'), scope: crm, expiresAt: at(1) })).status).toBe(403);
    expect((await grant(asAgent('planner'), { onBehalfOf: 'alice', to: agent('researcher'), scope: crm, expiresAt: at(1) })).status).toBe(
      403,
    );
  });

  it('sets a goal owned by a named human, who then reads and closes it', async () => {
    const body = { id: 'goal-a', objective: 'triage', intents: ['lookup-order-status'], agents: ['planner'], expiresAt: at(24) };
    expect((await request(ctx.app).post('/v1/goals').set(admin).send(body)).body.errors[0].path).toBe('/onBehalfOf');
    const r = await request(ctx.app)
      .post('/v1/goals')
      .set(admin)
      .send({ ...body, onBehalfOf: 'alice' });
    expect(r.status).toBe(201);
    expect(r.body.owner).toBe('alice');
    expect((await request(ctx.app).get('/v1/goals').set(bearer(ctx.alice))).body.items.map((g: { id: string }) => g.id)).toEqual([
      'goal-a',
    ]);
    expect((await request(ctx.app).patch('/v1/goals/goal-a').set(bearer(ctx.alice)).send({ status: 'completed' })).body.status).toBe(
      'completed',
    );
    expect(
      (
        await request(ctx.app)
          .post('/v1/goals')
          .set(bearer(ctx.bob))
          .send({ ...body, id: 'goal-b', onBehalfOf: 'alice' })
      ).status,
    ).toBe(403);
    expect(
      (
        await request(ctx.app)
          .post('/v1/goals')
          .set(bearer(ctx.bob))
          .send({ ...body, id: 'goal-b', onBehalfOf: 'bob' })
      ).body.owner,
    ).toBe('bob');
  });
});

describe('callers that are neither people nor agents', () => {
  it('a service (a policy enforcement point) neither grants, sets goals, lists them, nor revokes', async () => {
    const [g1] = await chain3();
    const service = bearer('tok-service-0123456789');
    expect((await grant(service, { onBehalfOf: 'alice', to: agent('planner'), scope: crm, expiresAt: at(1) })).status).toBe(403);
    expect(
      (
        await request(ctx.app)
          .post('/v1/goals')
          .set(service)
          .send({ onBehalfOf: 'alice', objective: 'x', intents: ['summarize'], agents: ['planner'], expiresAt: at(1) })
      ).status,
    ).toBe(403);
    expect((await request(ctx.app).get('/v1/goals').set(service)).status).toBe(403);
    expect((await request(ctx.app).post(`/v1/delegations/${g1}/revoke`).set(service).send({})).status).toBe(404);
    expect((await request(ctx.app).get(`/v1/delegations/${g1}`).set(bearer('tok-admin'))).body.active).toBe(true);
  });
});

describe('who revokes', () => {
  it('the grantor agent, the root human two hops up and an admin may; a sub-agent below and a stranger may not', async () => {
    const [, g2, g3] = await chain3();
    // support-bot holds g3 (below g2): it may give up its own grant but not touch its grantor's.
    expect((await request(ctx.app).post(`/v1/delegations/${g2}/revoke`).set(asAgent('support-bot')).send({})).status).toBe(404);
    expect((await request(ctx.app).post(`/v1/delegations/${g3}/revoke`).set(asAgent('rogue')).send({})).status).toBe(404);
    const byGrantor = await request(ctx.app).post(`/v1/delegations/${g3}/revoke`).set(asAgent('researcher')).send({ reason: 'done' });
    expect(byGrantor.body).toMatchObject({ revoked: [g3] });
    const byRoot = await request(ctx.app).post(`/v1/delegations/${g2}/revoke`).set(bearer(ctx.alice)).send({});
    expect(byRoot.body.revoked).toEqual([g2]);
    const [h1] = await chain3();
    const byAdmin = await request(ctx.app).post(`/v1/delegations/${h1}/revoke`).set(bearer('tok-admin')).send({});
    expect(byAdmin.body.revoked).toHaveLength(3);
    expect(ctx.events.at(-1)).toMatchObject({ topic: 'delegation.revoked', payload: { root: h1, by: 'admin' } });
  });
});

describe('listing and reading delegations', () => {
  it('lists what one gave or holds; others are refused; strangers cannot read a grant', async () => {
    const [g1] = await chain3();
    const mine = await request(ctx.app).get('/v1/delegations').query({ from: 'Human::"alice"' }).set(bearer(ctx.alice));
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((g: { id: string }) => g.id)).toEqual([g1]);
    expect((await request(ctx.app).get('/v1/delegations').query({ to: 'Agent::"planner"' }).set(bearer(ctx.alice))).status).toBe(403);
    expect((await request(ctx.app).get('/v1/delegations').set(bearer('tok-admin'))).body.items).toHaveLength(3);
    expect((await request(ctx.app).get('/v1/delegations').query({ from: 'nonsense' }).set(bearer('tok-admin'))).body.errors[0].path).toBe(
      '/from',
    );
    // A parameter the route does not take is named, not ignored (`limit[]` is not `limit`).
    for (const path of ['/v1/delegations?limit[]=-1', '/v1/delegations?limit[a]=1', '/v1/goals?limit[]=-1', '/v1/goals?sort=id']) {
      const res = await request(ctx.app).get(path).set(bearer('tok-admin'));
      expect(res.status, path).toBe(400);
      expect(res.body.errors[0].path, path).toBe(`/${path.split('?')[1]!.split('=')[0]!}`);
    }
    expect((await request(ctx.app).get(`/v1/delegations/${g1}`).set(bearer(ctx.bob))).status).toBe(404);
    expect((await request(ctx.app).get('/v1/delegations/nope').set(bearer('tok-admin'))).status).toBe(404);
  });
});

describe('revocation', () => {
  it('cascades below the revoked grant, publishes delegation.revoked, and the next decision is denied', async () => {
    const [g1, g2, g3] = await chain3();
    const decide = async () => {
      const find = async (from: { type: string; id: string }, to: { type: string; id: string }) =>
        ctx.storage.delegations.findActive(from, to, NOW.toISOString());
      const chain = [{ type: 'Human', id: 'alice' }, agent('planner'), agent('researcher'), agent('support-bot')];
      const grants = await Promise.all(chain.slice(1).map((to, i) => find(chain[i]!, to)));
      const all = (await ctx.storage.delegations.list({})).items;
      return evaluateGovernance(
        {
          principal: agent('support-bot'),
          action: 'tool:call',
          resource: { type: 'Tool', id: 'crm.search' },
          chain,
          now: NOW,
          maxDepth: 5,
          requireIntent: false,
        },
        {
          grant: (f, t) => grants[chain.findIndex((e) => e.id === t.id) - 1] ?? all.find((g) => g.from.id === f.id && g.to.id === t.id),
          goal: () => undefined,
          intents,
        },
      );
    };
    expect((await decide()).hardDeny).toBeUndefined();
    expect((await request(ctx.app).post(`/v1/delegations/${g2}/revoke`).set(bearer(ctx.bob)).send({})).status).toBe(404);
    const r = await request(ctx.app).post(`/v1/delegations/${g2}/revoke`).set(bearer(ctx.alice)).send({ reason: 'done' });
    expect(r.status).toBe(200);
    expect(r.body.revoked.sort()).toEqual([g2, g3].sort());
    expect(ctx.events).toContainEqual({ topic: 'delegation.revoked', payload: expect.objectContaining({ root: g2, by: 'alice' }) });
    expect((await decide()).hardDeny?.codes).toEqual(['delegation_revoked']);
    expect((await request(ctx.app).get(`/v1/delegations/${g1}`).set(bearer(ctx.alice))).body.active).toBe(true);
    expect((await request(ctx.app).get(`/v1/delegations/${g3}`).set(bearer(ctx.alice))).body.active).toBe(false);
    // A revoked parent leaves nothing to delegate from.
    const again = await grant(asAgent('researcher'), { to: agent('support-bot'), scope: crm, expiresAt: at(1) });
    expect(again.body.errors[0].message).toMatch(/^delegation_unknown_hop/);
  });
});

describe('POST /v1/delegations/token', () => {
  it('issues a signed token for a valid chain to its principal; refuses others and broken chains', async () => {
    const [g1, g2, g3] = await chain3();
    const chain = [{ type: 'Human', id: 'alice' }, agent('planner'), agent('researcher'), agent('support-bot')];
    const r = await request(ctx.app).post('/v1/delegations/token').set(asAgent('support-bot')).send({ chain });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ grants: [g1, g2, g3], depth: 3 });
    const v = await verifyDelegationToken({
      token: r.body.token,
      publicKey: tokenKeys.publicKey,
      issuer: 'argus-test',
      now: NOW,
      maxDepth: 5,
    });
    expect(v.ok && v.chain).toEqual(chain);
    expect((await request(ctx.app).post('/v1/delegations/token').set(asAgent('rogue')).send({ chain })).status).toBe(403);
    await request(ctx.app).post(`/v1/delegations/${g3}/revoke`).set(asAgent('researcher')).send({});
    const broken = await request(ctx.app).post('/v1/delegations/token').set(asAgent('support-bot')).send({ chain });
    expect(broken.status).toBe(403);
    expect(broken.body.errors[0]).toMatchObject({ path: '/chain/3' });
    expect(broken.body.errors[0].message).toMatch(/^delegation_unknown_hop/);
  });
});

describe('goals', () => {
  const body = {
    id: 'goal-1',
    objective: 'answer order tickets',
    intents: ['lookup-order-status'],
    agents: ['planner'],
    expiresAt: at(24),
    budget: { maxActions: 10, maxCostUsd: 1 },
  };

  it('a human creates a goal; its agents and owner read it; others do not', async () => {
    const r = await request(ctx.app).post('/v1/goals').set(bearer(ctx.alice)).send(body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      id: 'goal-1',
      owner: 'alice',
      status: 'active',
      usage: { used: { actions: 0 }, remaining: { actions: 10, costUsd: 1 } },
    });
    expect(ctx.events).toContainEqual({ topic: 'goal.changed', payload: { id: 'goal-1', status: 'active', change: 'created' } });
    expect((await request(ctx.app).get('/v1/goals/goal-1').set(asAgent('planner'))).status).toBe(200);
    expect((await request(ctx.app).get('/v1/goals/goal-1').set(bearer(ctx.bob))).status).toBe(404);
    expect((await request(ctx.app).get('/v1/goals').set(bearer(ctx.bob))).body.items).toEqual([]);
    expect((await request(ctx.app).get('/v1/goals').set(asAgent('planner'))).body.items.map((g: { id: string }) => g.id)).toEqual([
      'goal-1',
    ]);
    expect((await request(ctx.app).post('/v1/goals').set(asAgent('planner')).send(body)).status).toBe(403);
  });

  it('unknown intents are a 400 naming each one', async () => {
    const r = await request(ctx.app)
      .post('/v1/goals')
      .set(bearer(ctx.alice))
      .send({ ...body, intents: ['summarize', 'exfiltrate'] });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual([{ path: '/intents/1', message: 'intent `exfiltrate` is not in the catalogue' }]);
    expect(
      (
        await request(ctx.app)
          .post('/v1/goals')
          .set(bearer(ctx.alice))
          .send({ ...body, budget: { maxActions: -1 } })
      ).body.errors[0].path,
    ).toBe('/budget/maxActions');
  });

  it('status changes by the owner only, along legal transitions', async () => {
    await request(ctx.app).post('/v1/goals').set(bearer(ctx.alice)).send(body);
    expect((await request(ctx.app).patch('/v1/goals/goal-1').set(asAgent('planner')).send({ status: 'paused' })).status).toBe(403);
    const paused = await request(ctx.app).patch('/v1/goals/goal-1').set(bearer(ctx.alice)).send({ status: 'paused' });
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect((await request(ctx.app).patch('/v1/goals/goal-1').set(bearer(ctx.alice)).send({ status: 'completed' })).body.status).toBe(
      'completed',
    );
    const back = await request(ctx.app).patch('/v1/goals/goal-1').set(bearer(ctx.alice)).send({ status: 'active' });
    expect(back.status).toBe(409);
    expect((await request(ctx.app).patch('/v1/goals/goal-1').set(bearer(ctx.alice)).send({ status: 'expired' })).body.errors[0].path).toBe(
      '/status',
    );
  });

  it('a goal past its expiry reads `expired`, one by one and in listings by status; it cannot be moved any more', async () => {
    const create = (id: string, hours: number) =>
      request(ctx.app)
        .post('/v1/goals')
        .set(bearer(ctx.alice))
        .send({ ...body, id, expiresAt: at(hours) });
    await create('goal-short', 1);
    await create('goal-long', 48);
    await create('goal-paused', 2);
    await request(ctx.app).patch('/v1/goals/goal-paused').set(bearer(ctx.alice)).send({ status: 'paused' });
    const ids = async (query: string) =>
      ((await request(ctx.app).get(`/v1/goals${query}`).set(bearer(ctx.alice))).body.items as Array<{ id: string; status: string }>).map(
        (g) => `${g.id}:${g.status}`,
      );
    expect(await ids('?status=expired')).toEqual([]);
    clockNow = new Date(NOW.getTime() + 3 * 3_600_000);
    const one = await request(ctx.app).get('/v1/goals/goal-short').set(bearer(ctx.alice));
    expect(one.body).toMatchObject({ id: 'goal-short', status: 'expired' });
    expect(await ids('?status=expired')).toEqual(['goal-paused:expired', 'goal-short:expired']);
    expect(await ids('?status=active')).toEqual(['goal-long:active']);
    expect(await ids('?status=paused')).toEqual([]);
    expect(await ids('')).toEqual(['goal-long:active', 'goal-paused:expired', 'goal-short:expired']);
    const moved = await request(ctx.app).patch('/v1/goals/goal-short').set(bearer(ctx.alice)).send({ status: 'active' });
    expect(moved.status).toBe(409);
    expect(moved.body.message).toContain('cannot move from expired');
  });

  it('usage reports count against the budget until it is exhausted', async () => {
    await request(ctx.app).post('/v1/goals').set(bearer(ctx.alice)).send(body);
    const r = await request(ctx.app)
      .post('/v1/goals/goal-1/usage')
      .set(asAgent('planner'))
      .send({ actions: 4, costUsd: 0.4, tokens: 1200 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ goal: 'goal-1', used: { actions: 4, tokens: 1200, costUsd: 0.4 }, remaining: { actions: 6, costUsd: 0.6 } });
    await request(ctx.app).post('/v1/goals/goal-1/usage').set(bearer(ctx.alice)).send({ costUsd: 0.6 });
    expect((await ctx.budget.consume('goal-1', { actions: 1 }, { maxActions: 10, maxCostUsd: 1 })).exceeded).toEqual(['costUsd']);
    expect((await request(ctx.app).post('/v1/goals/goal-1/usage').set(asAgent('rogue')).send({ actions: 1 })).status).toBe(404);
    expect((await request(ctx.app).post('/v1/goals/goal-1/usage').set(asAgent('planner')).send({ actions: -1 })).body.errors[0].path).toBe(
      '/actions',
    );
  });
});

describe('GET /v1/intents', () => {
  it('answers the catalogue to any authenticated caller', async () => {
    const r = await request(ctx.app).get('/v1/intents').set(asAgent('planner'));
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.intents)).toContain('lookup-order-status');
    expect((await request(ctx.app).get('/v1/intents')).status).toBe(401);
  });
});

describe('without a signer', () => {
  it('token issuance is unavailable', async () => {
    const router = createGovernanceRouter({
      delegations: ctx.storage.delegations,
      goals: ctx.storage.goals,
      budget: ctx.budget,
      intents,
      auth: createAuthenticator({ adminToken: 'tok-admin' }),
      events: { publish: async () => {} },
      clock: () => NOW,
    });
    const app = express().use(jsonBody({ maxBodyBytes: 65_536, maxJsonDepth: 32 }), router, errorHandler(silentLogger()));
    const r = await request(app)
      .post('/v1/delegations/token')
      .set(bearer('tok-admin'))
      .send({ chain: [{ type: 'Human', id: 'a' }, agent('b')] });
    expect(r.status).toBe(503);
  });
});
