/**
 * Loading the facts a decision names, then evaluating them: the async shell around the pure
 * `evaluateGovernance`. Every loader is injected (stores, the budget counter, the token verifier),
 * so this module still does no I/O of its own. A loader that throws propagates: the decision
 * point turns it into a deny (fail closed).
 */
import type { EntityRef } from '@argus/contracts';
import { linkGrants, prefetchGrants, type Grant, type GrantLookup } from './delegation-chain.ts';
import { tokenGrantLookup, type TokenCode, type TokenResult } from './delegation-token.ts';
import { evaluateGovernance, type GovernanceInput, type GovernanceOutcome } from './evaluate.ts';
import { buildFacts } from './facts.ts';
import { budgetLeft, type BudgetUsed, type Goal } from './goal.ts';
import type { IntentCatalogue } from './intent.ts';
import type { AgentRecord } from './to-cedar.ts';
import { bareType, sameEntity } from './uid.ts';

/** Where `resolveGovernance` reads facts from. */
export interface GovernanceLoaders {
  /** The active grant from one entity to the next (e.g. `DelegationStore.findActive`). */
  findGrant(from: EntityRef, to: EntityRef): Promise<Grant | undefined>;
  /** A grant by id, to check a token's grants against revocations (e.g. `DelegationStore.get`). */
  getGrant(id: string): Promise<Grant | undefined>;
  /**
   * The grant from one entity to the next delegated under `parentId` (the active one first), read
   * when the pair's grant from `findGrant` belongs to another chain. Absent: no second look, and a
   * mismatched hop denies (`delegation_unknown_hop`).
   */
  findLinkedGrant?(from: EntityRef, to: EntityRef, parentId: string): Promise<Grant | undefined>;
  getGoal(id: string): Promise<Goal | undefined>;
  /** Usage totals of a goal (e.g. `BudgetCounter.get`). */
  getBudgetUsed(goalId: string): Promise<BudgetUsed>;
  intents: IntentCatalogue;
  /** Verifies a delegation token (e.g. `verifyDelegationToken` with the configured keys). Absent: tokens are refused. */
  verifyToken?: (token: string) => Promise<TokenResult>;
  agentRecord?: AgentRecord;
  attributes?: (ref: EntityRef) => Record<string, unknown> | undefined;
  /**
   * The registry trust state of an agent (`revoked`, `quarantined`, ...), read for every agent of
   * the chain above the principal: authority that passes through a revoked or quarantined agent is
   * refused (`agent_revoked`, `agent_quarantined`), as that agent's own calls are. Absent: not checked.
   */
  agentTrust?: (ref: EntityRef) => Promise<string | undefined>;
}

/** A governance request, with the optional portable chain. */
export type ResolveInput = GovernanceInput & { delegationToken?: string };

/**
 * Resolves the chain (from `chain`, or from a verified `delegationToken` whose grants are then
 * checked against the store for revocation), the goal and its budget, and evaluates them.
 */
export async function resolveGovernance(input: ResolveInput, loaders: GovernanceLoaders): Promise<GovernanceOutcome> {
  let chain = input.chain;
  let grants: GrantLookup = () => undefined;
  if (input.delegationToken !== undefined) {
    const refused = tokenRefusal;
    if (!loaders.verifyToken) return refused('delegation_token_invalid', 'delegation tokens are not accepted here');
    const token = await loaders.verifyToken(input.delegationToken);
    if (!token.ok) return refused(token.code, token.message);
    if (chain !== undefined && (chain.length !== token.chain.length || chain.some((e, i) => !sameEntity(e, token.chain[i]!)))) {
      return refused('delegation_token_invalid', '`delegation` does not match the chain of the delegation token');
    }
    const stored = await Promise.all(token.grantIds.map((id) => loaders.getGrant(id)));
    // A grant the store no longer knows counts as revoked: fail closed.
    const revoked = new Set(
      token.grantIds.filter((_, i) => {
        const g = stored[i];
        return !g || g.revokedAt !== undefined || g.status === 'revoked';
      }),
    );
    chain = token.chain;
    grants = tokenGrantLookup(token, (id) => revoked.has(id));
  } else if (chain !== undefined) {
    grants = await prefetchGrants(chain, (from, to) => loaders.findGrant(from, to));
    if (loaders.findLinkedGrant) grants = await linkGrants(chain, grants, loaders.findLinkedGrant.bind(loaders));
  }
  if (chain !== undefined && loaders.agentTrust) {
    const stopped = await stoppedHop(chain, loaders.agentTrust);
    if (stopped) return stopped;
  }
  let goal: Goal | undefined;
  let used: BudgetUsed | undefined;
  if (input.goal !== undefined) {
    goal = await loaders.getGoal(input.goal);
    if (goal?.budget) used = await loaders.getBudgetUsed(goal.id);
  }
  return evaluateGovernance(
    { ...input, ...(chain ? { chain } : {}) },
    {
      grant: grants,
      goal: (id) => (goal && goal.id === id ? goal : undefined),
      ...(goal?.budget && used ? { budgetLeft: budgetLeft(goal.budget, used) } : {}),
      intents: loaders.intents,
      ...(loaders.agentRecord ? { agentRecord: loaders.agentRecord } : {}),
      ...(loaders.attributes ? { attributes: loaders.attributes } : {}),
    },
  );
}

/**
 * The hard deny of a chain whose authority passes through a revoked or quarantined agent (the
 * principal itself, the last element, is checked with the decision's own registry facts).
 */
async function stoppedHop(
  chain: readonly EntityRef[],
  trustOf: (ref: EntityRef) => Promise<string | undefined>,
): Promise<GovernanceOutcome | undefined> {
  for (let i = 1; i < chain.length - 1; i++) {
    const ref = chain[i]!;
    if (bareType(ref.type) !== 'Agent') continue;
    const trust = await trustOf(ref);
    if (trust !== 'revoked' && trust !== 'quarantined') continue;
    const code = trust === 'revoked' ? 'agent_revoked' : 'agent_quarantined';
    const message = `agent \`${ref.id}\` (hop ${i} of the delegation chain) is ${trust}: no authority passes through it`;
    return {
      hardDeny: { codes: [code], message },
      entities: [],
      context: {},
      facts: { ...buildFacts({}), delegation: { checked: true, valid: false, code, message, hop: i } },
      grantIds: [],
      principalParents: [],
    };
  }
  return undefined;
}

/** A hard deny for a refused token: nothing else is evaluated on an unproven chain. */
function tokenRefusal(code: TokenCode, message: string): GovernanceOutcome {
  return {
    hardDeny: { codes: [code], message },
    entities: [],
    context: {},
    facts: { ...buildFacts({}), delegation: { checked: true, valid: false, code, message, hop: 0 } },
    grantIds: [],
    principalParents: [],
  };
}
