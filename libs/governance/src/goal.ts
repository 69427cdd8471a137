/**
 * Goals: the objective an agent pursues, set by a human, with the intents it allows, the agents
 * assigned to it, an expiry and a budget.
 */
import type { DenyCode, EntityRef } from '@argus/contracts';
import { isExpired, toMillis, type Instant } from './time.ts';
import { bareType, formatUid } from './uid.ts';

/** Goal lifecycle. `expired` may be stored, and is also derived from `expiresAt`. */
export type GoalStatus = 'active' | 'paused' | 'completed' | 'cancelled' | 'expired';

/** Budget limits; an absent dimension is unlimited. */
export interface BudgetLimits {
  maxActions?: number;
  maxTokens?: number;
  maxCostUsd?: number;
}

/** What is left of a budget per dimension; an absent dimension is unlimited. */
export interface BudgetLeft {
  actions?: number;
  tokens?: number;
  costUsd?: number;
}

/** Usage totals of a goal. */
export interface BudgetUsed {
  actions: number;
  tokens: number;
  costUsd: number;
}

/** A goal as stored. */
export interface Goal {
  id: string;
  objective: string;
  /** Id of the Human who set it. */
  owner: string;
  status: GoalStatus;
  /** Intents allowed while pursuing it. A decision naming the goal must declare one of these. */
  intents: string[];
  /** Agent ids assigned to it. Agents delegated from an assigned agent are covered too. */
  agents: string[];
  /** ISO-8601; absent means no expiry. */
  expiresAt?: string;
  budget?: BudgetLimits;
  createdAt?: string;
  updatedAt?: string;
}

/** Stable codes of a goal that does not admit the decision (catalogued in `@argus/contracts`). */
export type GoalCode = Extract<
  DenyCode,
  | 'goal_unknown'
  | 'goal_inactive'
  | 'goal_expired'
  | 'goal_agent_not_assigned'
  | 'goal_intent_not_allowed'
  | 'goal_budget_exhausted'
  | 'goal_budget_unknown'
>;

/** What `checkGoal` needs. */
export interface CheckGoalInput {
  /** The id the decision named, for messages when the goal is unknown. */
  goalId: string;
  goal: Goal | undefined;
  /**
   * The principal's verified chain, root first, ending at the principal; `[principal]` when the
   * decision carries no chain. Only pass a chain that `verifyChain` accepted.
   */
  agentChain: readonly EntityRef[];
  intent: string | undefined;
  now: Instant;
  /** What is left of the budget; required when the goal has a budget (else `goal_budget_unknown`). */
  budgetLeft?: BudgetLeft;
}

/** The tagged answer of `checkGoal`. */
export type GoalResult = { ok: true; goal: Goal; assignedVia: EntityRef } | { ok: false; code: GoalCode; message: string };

/**
 * Checks that a goal admits the decision, in this order: known, active, unexpired, the principal
 * assigned (or delegated from an assigned agent), the intent allowed, budget left. A budget
 * dimension is exhausted when less than one action, or no tokens or cost, is left.
 */
export function checkGoal(input: CheckGoalInput): GoalResult {
  const { goal } = input;
  if (!goal) return { ok: false, code: 'goal_unknown', message: `goal \`${input.goalId}\` does not exist` };
  if (goal.status === 'expired' || (goal.expiresAt !== undefined && isExpired(goal.expiresAt, toMillis(input.now)))) {
    return { ok: false, code: 'goal_expired', message: `goal \`${goal.id}\` expired${goal.expiresAt ? ` at ${goal.expiresAt}` : ''}` };
  }
  if (goal.status !== 'active') return { ok: false, code: 'goal_inactive', message: `goal \`${goal.id}\` is ${goal.status}` };
  const principal = input.agentChain[input.agentChain.length - 1];
  // Walk from the principal towards the root: the nearest assigned agent vouches for it.
  let assignedVia: EntityRef | undefined;
  for (let i = input.agentChain.length - 1; i >= 0 && !assignedVia; i--) {
    const e = input.agentChain[i]!;
    if (bareType(e.type) === 'Agent' && goal.agents.includes(e.id)) assignedVia = e;
  }
  if (!principal || !assignedVia) {
    return {
      ok: false,
      code: 'goal_agent_not_assigned',
      message: `${principal ? `\`${formatUid(principal)}\`` : 'the principal'} is neither assigned to goal \`${goal.id}\` nor delegated from an assigned agent`,
    };
  }
  if (input.intent === undefined || !goal.intents.includes(input.intent)) {
    return {
      ok: false,
      code: 'goal_intent_not_allowed',
      message:
        input.intent === undefined
          ? `goal \`${goal.id}\` requires an intent`
          : `goal \`${goal.id}\` does not allow intent \`${input.intent}\``,
    };
  }
  const limits = goal.budget;
  if (limits && (limits.maxActions !== undefined || limits.maxTokens !== undefined || limits.maxCostUsd !== undefined)) {
    const left = input.budgetLeft;
    if (!left) return { ok: false, code: 'goal_budget_unknown', message: `budget of goal \`${goal.id}\` could not be read` };
    const out: string[] = [];
    if (limits.maxActions !== undefined && (left.actions ?? 0) < 1) out.push('actions');
    if (limits.maxTokens !== undefined && (left.tokens ?? 0) <= 0) out.push('tokens');
    if (limits.maxCostUsd !== undefined && (left.costUsd ?? 0) <= 0) out.push('cost');
    if (out.length > 0)
      return { ok: false, code: 'goal_budget_exhausted', message: `goal \`${goal.id}\` has no ${out.join(', ')} budget left` };
  }
  return { ok: true, goal, assignedVia };
}

/** What is left of `limits` after `used` (never below zero); dimensions without a limit are omitted. */
export function budgetLeft(limits: BudgetLimits | undefined, used: BudgetUsed): BudgetLeft {
  const left: BudgetLeft = {};
  if (limits?.maxActions !== undefined) left.actions = Math.max(0, limits.maxActions - used.actions);
  if (limits?.maxTokens !== undefined) left.tokens = Math.max(0, limits.maxTokens - used.tokens);
  if (limits?.maxCostUsd !== undefined) left.costUsd = Math.max(0, roundUsd(limits.maxCostUsd - used.costUsd));
  return left;
}

function roundUsd(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * The status a reader sees: an `active` or `paused` goal past its `expiresAt` is `expired`
 * (decisions already deny it `goal_expired`); any other status is the stored one. The store keeps
 * the status it was given, so reads and listings by status apply this at the time of the read.
 */
export function reportedGoalStatus(goal: Pick<Goal, 'status' | 'expiresAt'>, now: Instant): GoalStatus {
  if ((goal.status === 'active' || goal.status === 'paused') && goal.expiresAt !== undefined && isExpired(goal.expiresAt, toMillis(now)))
    return 'expired';
  return goal.status;
}

/** Allowed goal status transitions: active ↔ paused; active/paused → completed/cancelled/expired. Terminal states stay. */
export function canTransition(from: GoalStatus, to: GoalStatus): boolean {
  if (from === to) return true;
  if (from === 'active') return to === 'paused' || to === 'completed' || to === 'cancelled' || to === 'expired';
  if (from === 'paused') return to === 'active' || to === 'completed' || to === 'cancelled' || to === 'expired';
  return false;
}
