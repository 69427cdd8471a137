import { describe, expect, it } from 'vitest';
import { descendantGrantIds, verifyChain, type ChainResult, type Grant, type GrantLookup } from './delegation-chain.ts';
import { evaluateGovernance, type GovernanceInput } from './evaluate.ts';
import { budgetLeft, checkGoal } from './goal.ts';
import { checkIntent } from './intent.ts';
import { alice, at, catalogue, chain3, crmSearch, goal, grants3, lookup, planner, researcher, supportBot, T0 } from './testing/fixture.ts';
import { grantLookupFrom } from './delegation-chain.ts';

function verify(
  over: {
    grants?: GrantLookup;
    chain?: typeof chain3;
    now?: number;
    maxDepth?: number;
    resource?: typeof crmSearch;
    action?: string;
    principal?: typeof supportBot;
  } = {},
): ChainResult {
  return verifyChain({
    chain: over.chain ?? chain3,
    principal: over.principal ?? supportBot,
    grants: over.grants ?? lookup(),
    action: over.action ?? 'tool:call',
    resource: over.resource ?? crmSearch,
    now: over.now ?? T0,
    maxDepth: over.maxDepth ?? 5,
  });
}

function code(r: ChainResult): string {
  return r.ok ? 'ok' : r.code;
}

describe('delegation chain: a valid three-hop chain', () => {
  it('is accepted with depth, root, effective scope and every hop', () => {
    const r = verify();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.depth).toBe(3);
    expect(r.root).toEqual(alice);
    expect(r.scope.resources).toEqual(['Tool::"crm.search"', 'Tool::"crm.orders.*"']);
    expect(r.hops.map((h) => h.grantId)).toEqual(['g1', 'g2', 'g3']);
    expect(r.grantIds).toEqual(['g1', 'g2', 'g3']);
  });

  it('also accepts a shorter chain ending at an intermediate agent acting for itself', () => {
    const r = verify({ chain: [alice, planner], principal: planner, resource: { type: 'Tool', id: 'mail.send' } });
    expect(code(r)).toBe('ok');
  });
});

describe('delegation chain: each failure from one minimal change', () => {
  const cases: Array<[string, () => ChainResult, number]> = [
    ['delegation_unknown_hop', () => verify({ grants: lookup((g) => g.splice(1, 1)) }), 2],
    ['delegation_expired', () => verify({ now: T0 + 2 * 3_600_000 }), 3],
    [
      'delegation_revoked',
      () =>
        verify({
          grants: lookup((g) => {
            g[1]!.status = 'revoked';
          }),
        }),
      2,
    ],
    [
      'delegation_scope_widened',
      () =>
        verify({
          grants: lookup((g) => {
            g[2]!.scope.resources.push('Tool::"mail.send"');
          }),
        }),
      3,
    ],
    ['delegation_out_of_scope', () => verify({ resource: { type: 'Tool', id: 'crm.delete' } }), 3],
    ['delegation_depth_exceeded', () => verify({ maxDepth: 2 }), 3],
    [
      'delegation_outlives_parent',
      () =>
        verify({
          grants: lookup((g) => {
            g[2]!.expiresAt = at(6);
          }),
        }),
      3,
    ],
    ['delegation_cycle', () => verify({ chain: [alice, planner, researcher, planner], principal: planner }), 3],
    ['delegation_wrong_principal', () => verify({ principal: { type: 'Agent', id: 'other-bot' } }), 3],
    ['delegation_root_not_human', () => verify({ chain: [planner, researcher, supportBot] }), 0],
  ];
  for (const [expected, run, hop] of cases) {
    it(`${expected}`, () => {
      const r = run();
      expect(code(r)).toBe(expected);
      if (!r.ok) {
        expect(r.hop).toBe(hop);
        expect(r.message).not.toMatch(/\.$/);
      }
    });
  }

  it("delegation_depth_exceeded from a grant's own maxDepth", () => {
    const r = verify({
      grants: lookup((g) => {
        g[1]!.maxDepth = 1;
      }),
    });
    expect(code(r)).toBe('delegation_depth_exceeded');
    expect(r.ok ? 0 : r.hop).toBe(2);
  });

  it('an action outside the last hop (but inside the root) is out of scope', () => {
    expect(code(verify({ action: 'llm:invoke', resource: { type: 'Model', id: 'gpt-4o' } }))).toBe('delegation_out_of_scope');
    expect(
      code(
        verify({
          chain: [alice, planner, researcher],
          principal: researcher,
          action: 'llm:invoke',
          resource: { type: 'Model', id: 'gpt-4o' },
        }),
      ),
    ).toBe('ok');
  });

  it('a grant to a human in the middle is refused', () => {
    const bob = { type: 'Human', id: 'bob' };
    const g: Grant = { id: 'gx', from: alice, to: bob, scope: { actions: ['*'], resources: ['*'] }, expiresAt: at(1), status: 'active' };
    expect(code(verify({ chain: [alice, bob], principal: bob, grants: grantLookupFrom([g], T0) }))).toBe('delegation_unknown_hop');
  });

  it('store records (no status, revokedAt set) are revoked', () => {
    expect(
      code(
        verify({
          grants: lookup((g) => {
            delete g[0]!.status;
            g[0]!.revokedAt = at(-1);
          }),
        }),
      ),
    ).toBe('delegation_revoked');
    expect(
      code(
        verify({
          grants: lookup((g) => {
            for (const x of g) delete x.status;
          }),
        }),
      ),
    ).toBe('ok');
  });

  it('an unparseable expiry fails closed as expired', () => {
    expect(
      code(
        verify({
          grants: lookup((g) => {
            g[0]!.expiresAt = 'not a date';
          }),
        }),
      ),
    ).toBe('delegation_expired');
  });

  it('a sub-agent widening its scope by a broader pattern is refused, naming the pattern', () => {
    const r = verify({
      grants: lookup((g) => {
        g[2]!.scope.resources = ['Tool::"*"'];
      }),
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('delegation_scope_widened');
      expect(r.message).toContain('Tool::"*"');
      expect(r.hops.map((h) => h.grantId)).toEqual(['g1', 'g2']);
    }
  });
});

describe('cascade revocation', () => {
  it('revoking a grant revokes everything below it and the next decision is denied', () => {
    const all = grants3();
    const extra: Grant = { ...all[2]!, id: 'g4', from: supportBot, to: { type: 'Agent', id: 'leaf' }, parentId: 'g3' };
    const forest = [...all, extra, { ...all[2]!, id: 'other', parentId: undefined }];
    expect(descendantGrantIds('g2', forest)).toEqual(['g3', 'g4']);
    expect(code(verify({ grants: grantLookupFrom(all, T0) }))).toBe('ok');
    for (const g of all) if (g.id === 'g2' || descendantGrantIds('g2', forest).includes(g.id)) g.status = 'revoked';
    expect(code(verify({ grants: grantLookupFrom(all, T0) }))).toBe('delegation_revoked');
    // The researcher's own chain is cut too, at the revoked hop itself.
    const r = verify({ chain: [alice, planner, researcher], principal: researcher, grants: grantLookupFrom(all, T0) });
    expect(r.ok ? 0 : r.hop).toBe(2);
  });

  it('is cycle-safe', () => {
    expect(
      descendantGrantIds('a', [
        { id: 'a', parentId: 'b' },
        { id: 'b', parentId: 'a' },
      ]),
    ).toEqual(['b']);
  });
});

describe('goals', () => {
  const base = {
    goalId: 'goal-7f3a',
    agentChain: chain3,
    intent: 'lookup-order-status',
    now: T0,
    budgetLeft: { actions: 5, tokens: 10, costUsd: 1 },
  };
  const goalCode = (over: Partial<Parameters<typeof checkGoal>[0]>) => {
    const r = checkGoal({ ...base, goal: goal(), ...over });
    return r.ok ? 'ok' : r.code;
  };

  it('admits an agent delegated from an assigned one', () => {
    const r = checkGoal({ ...base, goal: goal() });
    expect(r.ok && r.assignedVia).toEqual(planner);
  });
  it('goal_unknown', () => expect(goalCode({ goal: undefined })).toBe('goal_unknown'));
  it('goal_inactive for paused, completed and cancelled', () => {
    for (const status of ['paused', 'completed', 'cancelled'] as const)
      expect(goalCode({ goal: { ...goal(), status } })).toBe('goal_inactive');
  });
  it('goal_expired by time and by status', () => {
    expect(goalCode({ now: T0 + 25 * 3_600_000 })).toBe('goal_expired');
    expect(goalCode({ goal: { ...goal(), status: 'expired' } })).toBe('goal_expired');
  });
  it('goal_agent_not_assigned when neither the principal nor an ancestor is assigned', () => {
    expect(goalCode({ goal: { ...goal(), agents: ['someone-else'] } })).toBe('goal_agent_not_assigned');
    expect(goalCode({ agentChain: [supportBot] })).toBe('goal_agent_not_assigned');
    expect(goalCode({ agentChain: [supportBot], goal: { ...goal(), agents: ['support-bot'] } })).toBe('ok');
  });
  it('goal_intent_not_allowed for another or a missing intent', () => {
    expect(goalCode({ intent: 'send-notification' })).toBe('goal_intent_not_allowed');
    expect(goalCode({ intent: undefined })).toBe('goal_intent_not_allowed');
  });
  it('goal_budget_exhausted per dimension, and goal_budget_unknown without counters', () => {
    expect(goalCode({ budgetLeft: { actions: 0, tokens: 10, costUsd: 1 } })).toBe('goal_budget_exhausted');
    expect(goalCode({ budgetLeft: { actions: 3, tokens: 0, costUsd: 1 } })).toBe('goal_budget_exhausted');
    expect(goalCode({ budgetLeft: { actions: 3, tokens: 5, costUsd: 0 } })).toBe('goal_budget_exhausted');
    expect(goalCode({ budgetLeft: undefined })).toBe('goal_budget_unknown');
    expect(goalCode({ budgetLeft: undefined, goal: { ...goal(), budget: undefined } })).toBe('ok');
  });
  it('budgetLeft subtracts usage and floors at zero', () => {
    expect(budgetLeft({ maxActions: 3, maxCostUsd: 0.3 }, { actions: 5, tokens: 9, costUsd: 0.1 })).toEqual({ actions: 0, costUsd: 0.2 });
  });
});

describe('intents', () => {
  const run = (intent: string | undefined, action = 'tool:call', resource = crmSearch, required = false) =>
    checkIntent({ catalogue, intent, action, resource, required });
  it('a known intent justifying the action passes', () => expect(run('lookup-order-status').ok).toBe(true));
  it('intent_unknown', () => expect(run('exfiltrate')).toMatchObject({ ok: false, code: 'intent_unknown' }));
  it('intent_unknown for inherited object keys', () => expect(run('constructor')).toMatchObject({ ok: false, code: 'intent_unknown' }));
  it('intent_action_mismatch names the action', () => {
    const r = run('summarize', 'tool:call');
    expect(r).toMatchObject({ ok: false, code: 'intent_action_mismatch' });
    expect(!r.ok && r.message).toContain('`tool:call`');
  });
  it('intent_resource_mismatch when the resource type is not justified', () => {
    expect(run('lookup-order-status', 'tool:call', { type: 'Api', id: 'x' })).toMatchObject({
      ok: false,
      code: 'intent_resource_mismatch',
    });
  });
  it('intent_missing only when required', () => {
    expect(run(undefined).ok).toBe(true);
    expect(run(undefined, 'tool:call', crmSearch, true)).toMatchObject({ ok: false, code: 'intent_missing' });
  });
});

describe('evaluateGovernance', () => {
  const input: GovernanceInput = {
    principal: supportBot,
    action: 'tool:call',
    resource: crmSearch,
    intent: 'lookup-order-status',
    goal: 'goal-7f3a',
    chain: chain3,
    now: T0,
    maxDepth: 5,
    requireIntent: true,
  };
  const source = () => ({
    grant: lookup(),
    goal: (id: string) => (id === 'goal-7f3a' ? goal() : undefined),
    budgetLeft: budgetLeft(goal().budget, { actions: 10, tokens: 0, costUsd: 0 }),
    intents: catalogue,
    agentRecord: { id: 'support-bot', trust: 'trusted', owner: 'alice', capabilities: ['crm'], kind: 'llm-agent', leaseAlive: true },
  });

  it('a valid decision yields no hard deny, the hierarchy, the goal and the context', () => {
    const out = evaluateGovernance({ ...input, explain: 'full' }, source());
    expect(out.hardDeny).toBeUndefined();
    const bot = out.entities.find((e) => e.uid.id === 'support-bot')!;
    expect(bot.uid.type).toBe('Argus::Agent');
    expect(bot.parents).toEqual([{ type: 'Argus::Agent', id: 'researcher' }]);
    expect(bot.attrs).toMatchObject({ trust: 'trusted', owner: { __entity: { type: 'Argus::Human', id: 'alice' } }, leaseAlive: true });
    expect(out.entities.find((e) => e.uid.id === 'planner')!.parents).toEqual([{ type: 'Argus::Human', id: 'alice' }]);
    expect(out.entities.find((e) => e.uid.id === 'planner')!.attrs).toMatchObject({ trust: 'unregistered', leaseAlive: false });
    expect(out.entities.find((e) => e.uid.type === 'Argus::Goal')!.attrs).toEqual({
      owner: { __entity: { type: 'Argus::Human', id: 'alice' } },
      status: 'active',
      intents: ['lookup-order-status', 'summarize'],
    });
    expect(new Set(out.entities.map((e) => `${e.uid.type}/${e.uid.id}`)).size).toBe(out.entities.length);
    expect(out.context).toEqual({
      intent: 'lookup-order-status',
      goal: { __entity: { type: 'Argus::Goal', id: 'goal-7f3a' } },
      delegation: { depth: 3, root: { __entity: { type: 'Argus::Human', id: 'alice' } }, scope: ['tool:call'] },
    });
    expect(out.facts.delegation).toMatchObject({ checked: true, valid: true, depth: 3, root: 'Human::"alice"' });
    expect(out.facts.delegation.checked && 'hops' in out.facts.delegation && out.facts.delegation.hops?.length).toBe(3);
    expect(out.facts.goal).toMatchObject({ checked: true, valid: true, assignedVia: 'Agent::"planner"' });
    expect(out.facts.intent).toEqual({ checked: true, name: 'lookup-order-status', valid: true });
    expect(out.grantIds).toEqual(['g1', 'g2', 'g3']);
  });

  it('without explain full the facts carry no hops', () => {
    const out = evaluateGovernance(input, source());
    expect('hops' in out.facts.delegation).toBe(false);
  });

  it('collects every hard-deny code: delegation, intent and goal', () => {
    const out = evaluateGovernance({ ...input, intent: 'summarize', now: T0 + 2 * 3_600_000 }, source());
    expect(out.hardDeny?.codes).toEqual(['delegation_expired', 'intent_action_mismatch', 'goal_agent_not_assigned']);
    expect(out.facts.delegation).toMatchObject({ checked: true, valid: false, code: 'delegation_expired' });
    expect(out.context.delegation).toEqual({ depth: 0, scope: [] });
  });

  it('budget exhaustion is a hard deny', () => {
    const out = evaluateGovernance(input, { ...source(), budgetLeft: budgetLeft(goal().budget, { actions: 100, tokens: 0, costUsd: 0 }) });
    expect(out.hardDeny?.codes).toEqual(['goal_budget_exhausted']);
  });

  it('no chain, no goal, no intent: nothing checked, nothing denied', () => {
    const out = evaluateGovernance(
      { principal: supportBot, action: 'tool:call', resource: crmSearch, now: T0, maxDepth: 5, requireIntent: false },
      source(),
    );
    expect(out.hardDeny).toBeUndefined();
    expect(out.facts).toEqual({ delegation: { checked: false }, goal: { checked: false }, intent: { checked: false } });
    expect(out.context).toEqual({ intent: '', delegation: { depth: 0, scope: [] } });
    expect(out.entities.map((e) => e.uid.id).sort()).toEqual(['alice', 'support-bot']);
  });

  it('a revoked hop after cascade denies the next decision', () => {
    const g = grants3();
    expect(evaluateGovernance(input, { ...source(), grant: grantLookupFrom(g, T0) }).hardDeny).toBeUndefined();
    g[0]!.status = 'revoked';
    for (const id of descendantGrantIds('g1', g)) g.find((x) => x.id === id)!.status = 'revoked';
    expect(evaluateGovernance(input, { ...source(), grant: grantLookupFrom(g, T0) }).hardDeny?.codes).toContain('delegation_revoked');
  });

  it('researcher on its own chain reaches the model the sub-agent cannot', () => {
    const out = evaluateGovernance(
      {
        ...input,
        principal: researcher,
        chain: [alice, planner, researcher],
        action: 'llm:invoke',
        resource: { type: 'Model', id: 'gpt-4o-mini' },
        intent: 'summarize',
      },
      source(),
    );
    expect(out.hardDeny).toBeUndefined();
  });
});
