import type { EntityRef } from '@argus/contracts';
import {
  bareType,
  resolveGovernance,
  type Goal as GovernanceGoal,
  type GovernanceOutcome as ResolvedGovernance,
  type Grant,
  type IntentCatalogue,
  type TokenResult,
} from '@argus/governance';
import type { BudgetCounter, DelegationStore, GoalStore } from '@argus/store';
import type { CedarEntity } from '@argus/engine';
import type { GovernanceOutcome, GovernanceStep } from './apply-governance.ts';
import { registryAgentAttributes, toCedarRecord, type RegistryReader } from './entities.ts';

/** What the governance step reads: grants, goals, budgets, intents, registry records of the chain. */
export interface GovernanceStepDeps {
  delegations: Pick<DelegationStore, 'findActive' | 'get' | 'list'>;
  goals: Pick<GoalStore, 'get'>;
  budget: BudgetCounter;
  intents: IntentCatalogue;
  registry: RegistryReader;
  maxDepth: number;
  requireIntent: boolean;
  /** Verifies a delegation token; absent → tokens are refused. */
  verifyToken?: (token: string) => Promise<TokenResult>;
}

/**
 * The decision point's governance step: loads the delegation chain's grants (or verifies a
 * delegation token and checks its grants for revocation), the goal and its budget, the registry
 * records of every hop, and evaluates them with `libs/governance`. An allowed decision under a goal
 * with an action budget consumes one action atomically (the last unit cannot be taken twice).
 */
export function createGovernanceStep(deps: GovernanceStepDeps): GovernanceStep {
  return async ({ input, now, explain }) => {
    const hopAttributes = new Map<string, Record<string, unknown>>();
    for (const ref of input.delegation ?? []) {
      const attrs = await registryAttributes(deps.registry, ref);
      if (attrs) hopAttributes.set(`${bareType(ref.type)}::${ref.id}`, attrs);
    }
    const outcome = await resolveGovernance(
      {
        principal: input.principal,
        action: input.action,
        resource: input.resource,
        ...(input.intent !== undefined ? { intent: input.intent } : {}),
        ...(input.goal !== undefined ? { goal: input.goal } : {}),
        ...(input.delegation ? { chain: input.delegation } : {}),
        ...(input.delegationToken !== undefined ? { delegationToken: input.delegationToken } : {}),
        now,
        maxDepth: deps.maxDepth,
        requireIntent: deps.requireIntent,
        explain,
      },
      {
        // The active grant when there is one; otherwise the latest grant for the pair, so that a
        // revoked or expired hop is reported as such (`delegation_revoked`, `delegation_expired`)
        // rather than as an unknown hop.
        findGrant: async (from, to) =>
          ((await deps.delegations.findActive(from, to, now.toISOString())) ??
            latest((await deps.delegations.list({ from, to, limit: 20 })).items)) as Grant | undefined,
        getGrant: async (id) => (await deps.delegations.get(id)) as Grant | undefined,
        // Only read when the pair's grant above was carved out of another chain (two roots, one agent).
        findLinkedGrant: async (from, to, parentId) =>
          linkedGrant((await deps.delegations.list({ from, to, limit: 20 })).items, parentId, now),
        getGoal: async (id) => (await deps.goals.get(id)) as GovernanceGoal | undefined,
        getBudgetUsed: (id) => deps.budget.get(id),
        intents: deps.intents,
        ...(deps.verifyToken ? { verifyToken: deps.verifyToken } : {}),
        attributes: (ref) => hopAttributes.get(`${bareType(ref.type)}::${ref.id}`),
        agentTrust: async (ref) => (await deps.registry.getAgent(ref.id))?.trust,
      },
    );
    const goalId = input.goal;
    return {
      ...governanceOutcome(outcome),
      ...(goalId !== undefined && !outcome.hardDeny
        ? {
            commit: async () => {
              const goal = await deps.goals.get(goalId);
              if (!goal?.budget?.maxActions) return undefined;
              const consumed = await deps.budget.consume(goalId, { actions: 1 }, { maxActions: goal.budget.maxActions });
              return consumed.ok ? undefined : { codes: ['goal_budget_exhausted'], message: `goal \`${goalId}\` has no actions left` };
            },
          }
        : {}),
    };
  };
}

/** `libs/governance`'s outcome with its entities and context as the engine's Cedar values. */
export function governanceOutcome(outcome: ResolvedGovernance): GovernanceOutcome {
  const entities = outcome.entities.map((e): CedarEntity => ({ uid: e.uid, attrs: toCedarRecord(e.attrs), parents: e.parents }));
  return {
    ...(outcome.hardDeny ? { hardDeny: outcome.hardDeny } : {}),
    principalParents: outcome.principalParents,
    entities,
    context: toCedarRecord(outcome.context),
    facts: outcome.facts,
  };
}

/** The pair's grant delegated under `parentId`: an active one first, else the latest (reported revoked or expired). */
function linkedGrant<T extends { createdAt: string; parentId?: string; revokedAt?: string; expiresAt: string }>(
  items: readonly T[],
  parentId: string,
  now: Date,
): Grant | undefined {
  const under = items.filter((g) => g.parentId === parentId);
  const active = under.filter((g) => g.revokedAt === undefined && Date.parse(g.expiresAt) > now.getTime());
  return (latest(active) ?? latest(under)) as Grant | undefined;
}

function latest<T extends { createdAt: string }>(items: readonly T[]): T | undefined {
  return [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
}

async function registryAttributes(registry: RegistryReader, ref: EntityRef): Promise<Record<string, unknown> | undefined> {
  const type = bareType(ref.type);
  if (type === 'Agent') {
    const [agent, lease] = await Promise.all([registry.getAgent(ref.id), registry.leaseState('agent', ref.id)]);
    return agent ? registryAgentAttributes(ref.id, agent, lease === 'alive') : undefined;
  }
  if (type === 'Human') {
    const human = await registry.getHuman(ref.id);
    return human ? { roles: human.roles, email: human.email } : undefined;
  }
  return undefined;
}
