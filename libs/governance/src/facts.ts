/**
 * The `facts` document of a decision: what governance checked and the outcome of each check.
 * With `explain: "full"` the delegation fact lists every hop.
 */
import type { DenyCode, ExplainLevel } from '@argus/contracts';
import type { ChainResult, HopFact } from './delegation-chain.ts';
import type { BudgetLeft, GoalResult } from './goal.ts';
import type { IntentResult } from './intent.ts';
import { formatUid } from './uid.ts';

/** One hop as the facts show it. */
export interface HopView {
  hop: number;
  from: string;
  to: string;
  grant: string;
  scope: { actions: string[]; resources: string[] };
  expiresAt: string;
  maxDepth?: number;
}

/** The delegation fact. `checked: false` when the decision carried no chain. */
export type DelegationFact =
  | { checked: false }
  | { checked: true; valid: true; depth: number; root: string; grants: string[]; hops?: HopView[] }
  | { checked: true; valid: false; code: DenyCode; message: string; hop: number; hops?: HopView[] };

/** The goal fact. `checked: false` when the decision named no goal. */
export type GoalFact =
  | { checked: false }
  | { checked: true; id: string; valid: true; status: string; assignedVia: string; budgetLeft?: BudgetLeft }
  | { checked: true; id: string; valid: false; code: DenyCode; message: string };

/** The intent fact. `checked: false` when no intent was declared and none is required. */
export type IntentFact =
  | { checked: false }
  | { checked: true; name: string; valid: true }
  | { checked: true; name?: string; valid: false; code: DenyCode; message: string };

/** What governance checked for one decision. (A type alias, so it is assignable to `Record<string, unknown>`.) */
export type GovernanceFacts = {
  delegation: DelegationFact;
  goal: GoalFact;
  intent: IntentFact;
};

/** What `buildFacts` needs: the results of each check that ran. */
export interface FactsInput {
  delegation?: ChainResult;
  goal?: { id: string; result: GoalResult; budgetLeft?: BudgetLeft };
  intent?: IntentResult;
  explain?: ExplainLevel;
}

/** One hop in the facts' wire form (uids as `Type::"id"` strings). */
export function hopView(h: HopFact): HopView {
  return {
    hop: h.hop,
    from: formatUid(h.from),
    to: formatUid(h.to),
    grant: h.grantId,
    scope: { actions: [...h.scope.actions], resources: [...h.scope.resources] },
    expiresAt: h.expiresAt,
    ...(h.maxDepth === undefined ? {} : { maxDepth: h.maxDepth }),
  };
}

/** Assembles the facts document. */
export function buildFacts(input: FactsInput): GovernanceFacts {
  const full = input.explain === 'full';
  let delegation: DelegationFact = { checked: false };
  const d = input.delegation;
  if (d?.ok) {
    delegation = {
      checked: true,
      valid: true,
      depth: d.depth,
      root: formatUid(d.root),
      grants: d.grantIds,
      ...(full ? { hops: d.hops.map(hopView) } : {}),
    };
  } else if (d) {
    delegation = {
      checked: true,
      valid: false,
      code: d.code,
      message: d.message,
      hop: d.hop,
      ...(full ? { hops: d.hops.map(hopView) } : {}),
    };
  }

  let goal: GoalFact = { checked: false };
  const g = input.goal;
  if (g?.result.ok) {
    goal = {
      checked: true,
      id: g.id,
      valid: true,
      status: g.result.goal.status,
      assignedVia: formatUid(g.result.assignedVia),
      ...(g.budgetLeft ? { budgetLeft: g.budgetLeft } : {}),
    };
  } else if (g && !g.result.ok) {
    goal = { checked: true, id: g.id, valid: false, code: g.result.code, message: g.result.message };
  }

  let intent: IntentFact = { checked: false };
  const i = input.intent;
  if (i?.ok && i.intent !== undefined) intent = { checked: true, name: i.intent, valid: true };
  else if (i && !i.ok)
    intent = { checked: true, ...(i.intent === undefined ? {} : { name: i.intent }), valid: false, code: i.code, message: i.message };

  return { delegation, goal, intent };
}
