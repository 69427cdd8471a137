import { generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyChain, type Grant } from './delegation-chain.ts';
import { signDelegationToken, verifyDelegationToken } from './delegation-token.ts';
import { resolveGovernance, type GovernanceLoaders, type ResolveInput } from './resolve.ts';
import { catalogue, chain3, crmSearch, goal, grants3, supportBot, T0 } from './testing/fixture.ts';
import { formatUid } from './uid.ts';

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair('Ed25519');
  const grants = grants3();
  let used = { actions: 0, tokens: 0, costUsd: 0 };
  const loaders: GovernanceLoaders = {
    findGrant: async (from, to) =>
      grants.find((g) => formatUid(g.from) === formatUid(from) && formatUid(g.to) === formatUid(to) && g.status !== 'revoked'),
    getGrant: async (id) => grants.find((g) => g.id === id),
    getGoal: async (id) => (id === 'goal-7f3a' ? goal() : undefined),
    getBudgetUsed: async () => used,
    intents: catalogue,
    verifyToken: (token) => verifyDelegationToken({ token, publicKey, issuer: 'argus', now: T0, maxDepth: 5 }),
  };
  const chain = verifyChain({
    chain: chain3,
    grants: (f, t) => grants.find((g) => formatUid(g.from) === formatUid(f) && formatUid(g.to) === formatUid(t)),
    now: T0,
    maxDepth: 5,
  });
  if (!chain.ok) throw new Error(chain.message);
  const token = await signDelegationToken({ hops: chain.hops, privateKey, now: T0, ttlSeconds: 600, issuer: 'argus' });
  return { grants, loaders, token, setUsed: (u: typeof used) => (used = u) };
}

const input: ResolveInput = {
  principal: supportBot,
  action: 'tool:call',
  resource: crmSearch,
  intent: 'lookup-order-status',
  goal: 'goal-7f3a',
  now: T0,
  maxDepth: 5,
  requireIntent: true,
};

describe('resolveGovernance', () => {
  it('loads the chain from the store and the budget from the counter', async () => {
    const { loaders, setUsed } = await setup();
    const ok = await resolveGovernance({ ...input, chain: chain3 }, loaders);
    expect(ok.hardDeny).toBeUndefined();
    expect(ok.principalParents).toEqual([{ type: 'Argus::Agent', id: 'researcher' }]);
    setUsed({ actions: 100, tokens: 0, costUsd: 0 });
    expect((await resolveGovernance({ ...input, chain: chain3 }, loaders)).hardDeny?.codes).toEqual(['goal_budget_exhausted']);
  });

  it('accepts a delegation token and checks its grants against revocations in the store', async () => {
    const { loaders, token, grants } = await setup();
    const ok = await resolveGovernance({ ...input, delegationToken: token }, loaders);
    expect(ok.hardDeny).toBeUndefined();
    expect(ok.facts.delegation).toMatchObject({ valid: true, depth: 3 });
    grants.find((g: Grant) => g.id === 'g1')!.revokedAt = new Date(T0).toISOString();
    expect((await resolveGovernance({ ...input, delegationToken: token }, loaders)).hardDeny?.codes).toEqual([
      'delegation_revoked',
      'goal_agent_not_assigned',
    ]);
  });

  it('a grant the store forgot counts as revoked; a mismatching chain or bad token is refused', async () => {
    const { loaders, token, grants } = await setup();
    grants.splice(2, 1);
    expect((await resolveGovernance({ ...input, delegationToken: token }, loaders)).hardDeny?.codes).toEqual([
      'delegation_revoked',
      'goal_agent_not_assigned',
    ]);
    expect((await resolveGovernance({ ...input, delegationToken: token, chain: chain3.slice(0, 3) }, loaders)).hardDeny?.codes).toEqual([
      'delegation_token_invalid',
    ]);
    expect((await resolveGovernance({ ...input, delegationToken: 'x.y.z' }, loaders)).hardDeny?.codes).toEqual([
      'delegation_token_invalid',
    ]);
    const { verifyToken: _, ...noTokens } = loaders;
    expect((await resolveGovernance({ ...input, delegationToken: token }, noTokens)).hardDeny?.codes).toEqual(['delegation_token_invalid']);
  });
});
