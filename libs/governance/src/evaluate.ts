/**
 * The single entry point of the decision point into governance: verify the chain, the intent and
 * the goal, and turn what holds into Cedar entities and context.
 */
import type { DenyCode, EntityRef, ExplainLevel } from '@argus/contracts';
import { verifyChain, type ChainResult, type GrantLookup } from './delegation-chain.ts';
import { buildFacts, type GovernanceFacts } from './facts.ts';
import { checkGoal, type BudgetLeft, type Goal, type GoalResult } from './goal.ts';
import { checkIntent, type IntentCatalogue } from './intent.ts';
import type { Instant } from './time.ts';
import { cedarUid, toCedar, type AgentRecord, type CedarEntity } from './to-cedar.ts';

/** The request side of a governance evaluation. */
export interface GovernanceInput {
  principal: EntityRef;
  action: string;
  resource: EntityRef;
  intent?: string;
  /** Goal id named by the decision. */
  goal?: string;
  /** Root Human first, ending at the principal. */
  chain?: readonly EntityRef[];
  now: Instant;
  /** Configured maximum delegation depth (hops). */
  maxDepth: number;
  /** Refuse decisions that declare no intent. */
  requireIntent: boolean;
  explain?: ExplainLevel;
}

/** The facts governance reads, loaded by the caller beforehand (the library does no I/O). */
export interface GovernanceFactSource {
  /** Grant of each hop (see `prefetchGrants`, `tokenGrantLookup`). */
  grant: GrantLookup;
  /** The goal named by the decision, if it exists. */
  goal: (id: string) => Goal | undefined;
  /** What is left of the named goal's budget (see `budgetLeft`); needed when the goal has a budget. */
  budgetLeft?: BudgetLeft;
  intents: IntentCatalogue;
  /** The principal's registry record, for its Cedar attributes. */
  agentRecord?: AgentRecord;
  /** Extra attributes for chain entities and the goal owner. */
  attributes?: (ref: EntityRef) => Record<string, unknown> | undefined;
}

/** A refusal no policy can override. `codes` are stable, in check order (delegation, intent, goal). */
export interface HardDeny {
  codes: DenyCode[];
  message: string;
}

/** The outcome: an optional hard deny, plus what Cedar gets and the facts document. */
export interface GovernanceOutcome {
  hardDeny?: HardDeny;
  entities: CedarEntity[];
  context: Record<string, unknown>;
  facts: GovernanceFacts;
  /** The grant ids of a valid chain (for audit and revocation watch). */
  grantIds: string[];
  /** Cedar parents of the principal: the entity that delegated to it (valid chain only). */
  principalParents: Array<{ type: string; id: string }>;
}

/**
 * Verifies delegation, intent and goal for one decision. Every failure is collected as a hard
 * deny code; the goal is checked against the verified chain only (an invalid chain vouches for
 * nothing, so assignment falls back to the principal alone).
 */
export function evaluateGovernance(input: GovernanceInput, source: GovernanceFactSource): GovernanceOutcome {
  const codes: DenyCode[] = [];
  const messages: string[] = [];

  let chain: ChainResult | undefined;
  if (input.chain !== undefined) {
    chain = verifyChain({
      chain: input.chain,
      principal: input.principal,
      grants: source.grant,
      action: input.action,
      resource: input.resource,
      now: input.now,
      maxDepth: input.maxDepth,
    });
    if (!chain.ok) {
      codes.push(chain.code);
      messages.push(chain.message);
    }
  }

  const intent = checkIntent({
    catalogue: source.intents,
    intent: input.intent,
    action: input.action,
    resource: input.resource,
    required: input.requireIntent,
  });
  if (!intent.ok) {
    codes.push(intent.code);
    messages.push(intent.message);
  }

  let goalCheck: { id: string; result: GoalResult; budgetLeft?: BudgetLeft } | undefined;
  let goal: Goal | undefined;
  if (input.goal !== undefined) {
    goal = source.goal(input.goal);
    const result = checkGoal({
      goalId: input.goal,
      goal,
      agentChain: chain?.ok ? input.chain! : [input.principal],
      intent: input.intent,
      now: input.now,
      ...(source.budgetLeft ? { budgetLeft: source.budgetLeft } : {}),
    });
    goalCheck = { id: input.goal, result, ...(source.budgetLeft ? { budgetLeft: source.budgetLeft } : {}) };
    if (!result.ok) {
      codes.push(result.code);
      messages.push(result.message);
    }
  }

  const cedar = toCedar({
    principal: input.principal,
    ...(chain?.ok ? { delegation: chain } : {}),
    ...(goal ? { goal } : {}),
    ...(input.intent !== undefined ? { intent: input.intent } : {}),
    ...(source.agentRecord ? { agentRecord: source.agentRecord } : {}),
    ...(source.attributes ? { attributes: source.attributes } : {}),
  });
  const facts = buildFacts({
    ...(chain ? { delegation: chain } : {}),
    ...(goalCheck ? { goal: goalCheck } : {}),
    intent,
    ...(input.explain ? { explain: input.explain } : {}),
  });
  return {
    ...(codes.length > 0 ? { hardDeny: { codes, message: messages.join('; ') } } : {}),
    entities: cedar.entities,
    context: cedar.context,
    facts,
    grantIds: chain?.ok ? chain.grantIds : [],
    principalParents: chain?.ok && chain.hops.length > 0 ? [cedarUid(chain.hops[chain.hops.length - 1]!.from)] : [],
  };
}
