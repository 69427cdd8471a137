/**
 * The Cedar side of the contract: what `evaluateGovernance` produces is accepted by cedar-wasm
 * against `cedar/schema.cedarschema` (request and entities validated), and policy authors can
 * reason over the delegation hierarchy, `context.delegation` and the goal.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { evaluateGovernance, type GovernanceInput } from './evaluate.ts';
import { budgetLeft } from './goal.ts';
import { alice, catalogue, chain3, goal, lookup, supportBot, T0 } from './testing/fixture.ts';

const schema = readFileSync(fileURLToPath(new URL('../../../cedar/schema.cedarschema', import.meta.url)), 'utf8');

const policies: Record<string, string> = {
  'alice-delegates-crm': `permit (principal in Argus::Human::"alice", action == Argus::Action::"tool:call", resource is Argus::Tool)
    when { context.delegation.scope.contains("tool:call") && context has goal && context.goal.owner == Argus::Human::"alice" };`,
  'no-deep-subagents-on-high-tools': `forbid (principal, action == Argus::Action::"tool:call", resource is Argus::Tool)
    when { context.delegation.depth > 2 && resource.sensitivity == "high" };`,
  'goal-must-allow-intent': `forbid (principal, action, resource)
    when { context has goal && !(context.goal.intents.contains(context.intent)) };`,
};

function decide(input: GovernanceInput, sensitivity: string, goalOwner = alice.id): string {
  const out = evaluateGovernance(input, {
    grant: lookup(),
    goal: () => ({ ...goal(), owner: goalOwner }),
    budgetLeft: budgetLeft(goal().budget, { actions: 0, tokens: 0, costUsd: 0 }),
    intents: catalogue,
    agentRecord: { id: 'support-bot', trust: 'trusted', owner: 'alice', capabilities: [], kind: 'llm-agent', leaseAlive: true },
  });
  expect(out.hardDeny).toBeUndefined();
  const answer = cedar.isAuthorized({
    principal: { type: 'Argus::Agent', id: input.principal.id },
    action: { type: 'Argus::Action', id: input.action },
    resource: { type: 'Argus::Tool', id: input.resource.id },
    context: { ...out.context, now: { __extn: { fn: 'datetime', arg: new Date(T0).toISOString() } } } as never,
    schema,
    validateRequest: true,
    policies: { staticPolicies: policies },
    entities: [
      ...out.entities,
      { uid: { type: 'Argus::Tool', id: input.resource.id }, attrs: { sensitivity, serverTrust: 'none' }, parents: [] },
    ] as never,
  });
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
  expect(answer.response.diagnostics.errors).toEqual([]);
  return answer.response.decision;
}

describe('governance facts in Cedar', () => {
  const input: GovernanceInput = {
    principal: supportBot,
    action: 'tool:call',
    resource: { type: 'Tool', id: 'crm.search' },
    intent: 'lookup-order-status',
    goal: 'goal-7f3a',
    chain: chain3,
    now: T0,
    maxDepth: 5,
    requireIntent: true,
  };

  it('principal in Human::"alice" holds along the chain; a low-sensitivity tool is allowed', () => {
    expect(decide(input, 'low')).toBe('allow');
  });

  it('policies see the delegation depth: a depth-3 sub-agent may not call a high tool', () => {
    expect(decide(input, 'high')).toBe('deny');
  });

  it('the goal entity is visible: a goal owned by someone else does not satisfy the permit', () => {
    expect(decide(input, 'internal')).toBe('allow');
    expect(decide(input, 'internal', 'bob')).toBe('deny');
  });
});
