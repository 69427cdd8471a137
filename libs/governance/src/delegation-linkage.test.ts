import { describe, expect, it } from 'vitest';
import { verifyChain, type Grant } from './delegation-chain.ts';
import { resolveGovernance, type GovernanceLoaders, type ResolveInput } from './resolve.ts';
import { catalogue, T0 } from './testing/fixture.ts';
import { formatUid } from './uid.ts';

// The orchestrator holds grants from two humans; each sub-grant to the researcher was carved out of
// one of them. A chain is read as delegated only along the grants' parent links.
const H = (id: string) => ({ type: 'Human', id });
const A = (id: string) => ({ type: 'Agent', id });
const FUTURE = '2099-01-01T00:00:00.000Z';
const crm = { actions: ['tool:call'], resources: ['Tool::"crm.*"'] };
const search = { actions: ['tool:call'], resources: ['Tool::"crm.search"'] };
const fromAlice: Grant = {
  id: 'g-alice',
  from: H('alice'),
  to: A('orchestrator'),
  scope: crm,
  expiresAt: FUTURE,
  createdAt: '2030-01-01T00:00:00Z',
};
const fromBob: Grant = {
  id: 'g-bob',
  from: H('bob'),
  to: A('orchestrator'),
  scope: crm,
  expiresAt: FUTURE,
  createdAt: '2030-01-01T00:00:01Z',
};
const underBob: Grant = {
  id: 'r-bob',
  from: A('orchestrator'),
  to: A('researcher'),
  scope: search,
  expiresAt: FUTURE,
  parentId: 'g-bob',
  createdAt: '2030-01-01T00:00:02Z',
};
const underAlice: Grant = {
  id: 'r-alice',
  from: A('orchestrator'),
  to: A('researcher'),
  scope: search,
  expiresAt: FUTURE,
  parentId: 'g-alice',
  createdAt: '2030-01-01T00:00:03Z',
};

const samePair = (g: Grant, from: { type: string; id: string }, to: { type: string; id: string }) =>
  formatUid(g.from) === formatUid(from) && formatUid(g.to) === formatUid(to);

/** Loaders over `grants`, where `findGrant` answers the newest unrevoked grant of a pair, as the store does. */
function loaders(grants: Grant[], linked: boolean): GovernanceLoaders {
  const newest = (list: Grant[]) => [...list].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))[0];
  return {
    findGrant: async (from, to) => newest(grants.filter((g) => samePair(g, from, to) && g.revokedAt === undefined)),
    getGrant: async (id) => grants.find((g) => g.id === id),
    getGoal: async () => undefined,
    getBudgetUsed: async () => ({ actions: 0, tokens: 0, costUsd: 0 }),
    intents: catalogue,
    ...(linked
      ? { findLinkedGrant: async (from, to, parentId) => grants.find((g) => samePair(g, from, to) && g.parentId === parentId) }
      : {}),
  };
}

const call = (root: string): ResolveInput => ({
  principal: A('researcher'),
  action: 'tool:call',
  resource: { type: 'Tool', id: 'crm.search' },
  chain: [H(root), A('orchestrator'), A('researcher')],
  now: T0,
  maxDepth: 5,
  requireIntent: false,
});

describe('a sub-grant belongs to the chain it was delegated in', () => {
  it('verifyChain refuses a hop presented under another grant than its parent', () => {
    const lookup = (from: { type: string; id: string }, to: { type: string; id: string }) =>
      [fromAlice, underBob].find((g) => samePair(g, from, to));
    const r = verifyChain({ chain: call('alice').chain!, grants: lookup, now: T0, maxDepth: 5 });
    expect(r).toMatchObject({ ok: false, code: 'delegation_unknown_hop', hop: 2 });
    expect(!r.ok && r.message).toBe(
      'hop 2: grant `r-bob` `Agent::"orchestrator"` → `Agent::"researcher"` was delegated under `g-bob`, not under `g-alice` (the chain\'s previous hop)',
    );
    // A grant stored without a parent is not linked (grants written before parents were recorded).
    const { parentId: _dropped, ...unlinked } = underBob;
    expect(
      verifyChain({
        chain: call('alice').chain!,
        grants: (f, t) => [fromAlice, unlinked].find((g) => samePair(g, f, t)),
        now: T0,
        maxDepth: 5,
      }).ok,
    ).toBe(true);
  });

  it("a researcher whose grant came from bob's authority cannot act under alice's", async () => {
    const grants = [fromAlice, fromBob, underBob];
    expect((await resolveGovernance(call('bob'), loaders(grants, true))).hardDeny).toBeUndefined();
    const alice = await resolveGovernance(call('alice'), loaders(grants, true));
    expect(alice.hardDeny?.codes).toEqual(['delegation_unknown_hop']);
    expect(alice.hardDeny?.message).toMatch(/delegated under `g-bob`/);
  });

  it('with a sub-grant under each root, each chain finds its own (the linked lookup), and revoking one root leaves the other', async () => {
    const grants: Grant[] = [fromAlice, fromBob, underBob, { ...underAlice }];
    // The newest pair grant is r-alice: bob's chain needs the second look.
    expect((await resolveGovernance(call('bob'), loaders(grants, false))).hardDeny?.codes).toEqual(['delegation_unknown_hop']);
    const bob = await resolveGovernance(call('bob'), loaders(grants, true));
    expect(bob.hardDeny).toBeUndefined();
    expect(bob.grantIds).toEqual(['g-bob', 'r-bob']);
    expect((await resolveGovernance(call('alice'), loaders(grants, true))).grantIds).toEqual(['g-alice', 'r-alice']);

    // alice revokes: her grant and the sub-grant under it (the store's cascade).
    const revoked = grants.map((g) => (g.id === 'g-alice' || g.id === 'r-alice' ? { ...g, revokedAt: '2030-01-02T00:00:00Z' } : g));
    expect((await resolveGovernance(call('alice'), loaders(revoked, true))).hardDeny?.codes).toEqual(['delegation_unknown_hop']);
    expect((await resolveGovernance(call('bob'), loaders(revoked, true))).hardDeny).toBeUndefined();
  });
});
