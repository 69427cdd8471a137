import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '@argus/store';
import { startHarness, type Harness } from './testing/harness.ts';

// One scenario through the whole decision path: registry → delegation chain → goal → intent → Cedar.
let h: Harness;
const FUTURE = '2099-01-01T00:00:00.000Z';
const H = (id: string) => ({ type: 'Human', id });
const A = (id: string) => ({ type: 'Agent', id });

beforeAll(async () => {
  h = await startHarness();
  const r = h.storage.registry;
  await r.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  for (const id of ['planner', 'researcher', 'scraper']) await r.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
  const scope = { actions: ['tool:call', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Model::"*"'] };
  const g1 = await h.storage.delegations.create({
    id: 'g1',
    from: H('alice'),
    to: A('planner'),
    scope,
    expiresAt: FUTURE,
    createdBy: 'alice',
  });
  const g2 = await h.storage.delegations.create({
    id: 'g2',
    from: A('planner'),
    to: A('researcher'),
    scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] },
    expiresAt: FUTURE,
    parentId: g1.id,
    createdBy: 'planner',
  });
  await h.storage.delegations.create({
    id: 'g3',
    from: A('researcher'),
    to: A('scraper'),
    scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] },
    expiresAt: FUTURE,
    parentId: g2.id,
    createdBy: 'researcher',
  });
  await h.storage.goals.create({
    id: 'goal-7',
    owner: 'alice',
    objective: 'answer ticket 7',
    intents: ['lookup-order-status'],
    agents: ['planner'],
    expiresAt: FUTURE,
    budget: { maxActions: 2 },
  });
});
afterAll(async () => h.close());

const call = (principal: string, chain: string[], extra: Record<string, unknown> = {}) =>
  request(h.listener)
    .post('/v1/authorize')
    .send({
      input: {
        principal: A(principal),
        action: 'tool:call',
        resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
        intent: 'lookup-order-status',
        delegation: [H('alice'), ...chain.map(A)],
        ...extra,
      },
      explain: 'full',
    })
    .then((r) => r.body);

describe('delegation chain through the decision API', () => {
  it('allows a valid three-hop chain and shows it to Cedar as hierarchy', async () => {
    const body = await call('scraper', ['planner', 'researcher', 'scraper']);
    expect(body.result.allow).toBe(true);
    expect(body.result.facts.delegation).toMatchObject({ valid: true, depth: 3 });
    const scraper = body.result.explanation.entities.find((e: { uid: { id: string } }) => e.uid.id === 'scraper');
    expect(scraper.parents).toEqual([{ type: 'Argus::Agent', id: 'researcher' }]);
    expect(body.result.explanation.context.delegation).toMatchObject({
      depth: 3,
      root: { __entity: { type: 'Argus::Human', id: 'alice' } },
    });
  });

  it("hard-denies an action outside the last hop's scope, whatever the policies say", async () => {
    const body = await call('scraper', ['planner', 'researcher', 'scraper'], {
      resource: { type: 'Tool', id: 'crm.export', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
    });
    expect(body.result).toMatchObject({ allow: false, codes: ['delegation_out_of_scope'], reasons: [] });
  });

  it('hard-denies a chain with an unknown hop', async () => {
    const body = await call('scraper', ['researcher', 'scraper']);
    expect(body.result.allow).toBe(false);
    expect(body.result.codes).toContain('delegation_unknown_hop');
  });

  it('under a goal: consumes the action budget, then denies when it is spent', async () => {
    const first = await call('researcher', ['planner', 'researcher'], { goal: 'goal-7' });
    expect(first.result.allow).toBe(true);
    const second = await call('researcher', ['planner', 'researcher'], { goal: 'goal-7' });
    expect(second.result.allow).toBe(true);
    const third = await call('researcher', ['planner', 'researcher'], { goal: 'goal-7' });
    expect(third.result).toMatchObject({ allow: false });
    expect(third.result.codes).toContain('goal_budget_exhausted');
    expect((await h.budget.get('goal-7')).actions).toBe(2);
  });

  it('denies an intent the goal does not allow, saying which', async () => {
    const body = await call('researcher', ['planner', 'researcher'], { goal: 'goal-7', intent: 'research' });
    expect(body.result.allow).toBe(false);
    expect(body.result.codes.some((c: string) => c.startsWith('intent_') || c.startsWith('goal_intent'))).toBe(true);
  });

  it('passes no authority through an agent that is revoked or quarantined in the middle of the chain', async () => {
    const setTrust = async (id: string, to: 'revoked' | 'quarantined' | 'pending' | 'trusted') => {
      await h.storage.registry.setTrust('agent', id, { to, by: 'test', reason: 'test' });
      await h.events.publish(TOPICS.registryChanged, { kind: 'agent', id, change: 'trust' });
    };
    expect((await call('scraper', ['planner', 'researcher', 'scraper'])).result.allow).toBe(true);
    for (const [id, hop] of [
      ['researcher', 2],
      ['planner', 1],
    ] as const) {
      await setTrust(id, 'quarantined');
      const body = await call('scraper', ['planner', 'researcher', 'scraper']);
      expect(body.result).toMatchObject({ allow: false, codes: ['agent_quarantined'] });
      expect(body.result.facts.delegation).toMatchObject({ valid: false, code: 'agent_quarantined', hop });
      await setTrust(id, 'pending');
      await setTrust(id, 'trusted');
    }
    expect((await call('scraper', ['planner', 'researcher', 'scraper'])).result.allow).toBe(true);
    // Revoked is terminal: a chain of its own.
    for (const id of ['middle', 'leaf']) await h.storage.registry.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
    const scope = { actions: ['tool:call'], resources: ['Tool::"crm.*"'] };
    await h.storage.delegations.create({ id: 'gm', from: H('alice'), to: A('middle'), scope, expiresAt: FUTURE, createdBy: 'alice' });
    await h.storage.delegations.create({
      id: 'gl',
      from: A('middle'),
      to: A('leaf'),
      scope,
      expiresAt: FUTURE,
      parentId: 'gm',
      createdBy: 'middle',
    });
    expect((await call('leaf', ['middle', 'leaf'])).result.allow).toBe(true);
    await setTrust('middle', 'revoked');
    const revoked = await call('leaf', ['middle', 'leaf']);
    expect(revoked.result).toMatchObject({ allow: false, codes: ['agent_revoked'] });
    expect(revoked.result.summary).toContain('`middle` (hop 1 of the delegation chain) is revoked');
  });

  it('cascade revocation takes effect on the very next decision', async () => {
    expect((await call('scraper', ['planner', 'researcher', 'scraper'])).result.allow).toBe(true);
    const revoked = await h.storage.delegations.revoke('g2', 'alice', 'ticket closed');
    expect(revoked.sort()).toEqual(['g2', 'g3']);
    const after = await call('scraper', ['planner', 'researcher', 'scraper']);
    expect(after.result.allow).toBe(false);
    expect(after.result.codes).toContain('delegation_revoked');
  });
});
