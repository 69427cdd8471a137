/**
 * The scenario used across governance tests: alice (Human) → planner → researcher → support-bot,
 * three hops, each narrower than the one before. Tests derive each failure from one minimal change.
 */
import type { EntityRef } from '@argus/contracts';
import { grantLookupFrom, type Grant } from '../delegation-chain.ts';
import type { Goal } from '../goal.ts';
import type { IntentCatalogue } from '../intent.ts';

/** The decision time of the scenario. */
export const T0 = Date.parse('2026-01-01T00:00:00Z');
/** `T0 + hours` as ISO-8601. */
export const at = (hours: number): string => new Date(T0 + hours * 3_600_000).toISOString();

export const alice: EntityRef = { type: 'Human', id: 'alice' };
export const planner: EntityRef = { type: 'Agent', id: 'planner' };
export const researcher: EntityRef = { type: 'Agent', id: 'researcher' };
export const supportBot: EntityRef = { type: 'Agent', id: 'support-bot' };
export const crmSearch: EntityRef = { type: 'Tool', id: 'crm.search' };

/** The three-hop chain, root first. */
export const chain3: EntityRef[] = [alice, planner, researcher, supportBot];

/** Fresh copies of the three grants of the scenario. */
export function grants3(): Grant[] {
  return [
    {
      id: 'g1',
      from: alice,
      to: planner,
      scope: { actions: ['tool:*', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Tool::"mail.*"', 'Model::"gpt-*"'] },
      expiresAt: at(10),
      maxDepth: 3,
      status: 'active',
    },
    {
      id: 'g2',
      from: planner,
      to: researcher,
      scope: { actions: ['tool:call', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Model::"gpt-4o*"'] },
      expiresAt: at(5),
      status: 'active',
      parentId: 'g1',
    },
    {
      id: 'g3',
      from: researcher,
      to: supportBot,
      scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"', 'Tool::"crm.orders.*"'] },
      expiresAt: at(1),
      status: 'active',
      parentId: 'g2',
    },
  ];
}

/** Lookup over `grants3()` after `change` mutates them. */
export function lookup(change: (g: Grant[]) => void = () => {}) {
  const g = grants3();
  change(g);
  return grantLookupFrom(g, T0);
}

/** A goal owned by alice, assigned to the planner, with a budget. */
export function goal(): Goal {
  return {
    id: 'goal-7f3a',
    objective: 'answer order-status tickets',
    owner: 'alice',
    status: 'active',
    intents: ['lookup-order-status', 'summarize'],
    agents: ['planner'],
    expiresAt: at(24),
    budget: { maxActions: 100, maxTokens: 50_000, maxCostUsd: 5 },
  };
}

/** A small intent catalogue. */
export const catalogue: IntentCatalogue = {
  intents: {
    'lookup-order-status': { description: 'read order status', actions: ['tool:call'], resourceTypes: ['Tool'] },
    summarize: { description: 'summarize', actions: ['llm:invoke'], resourceTypes: ['Model'] },
    'send-notification': { description: 'notify', actions: ['tool:call', 'http:post'] },
  },
};
