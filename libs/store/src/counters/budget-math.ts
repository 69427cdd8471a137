import { InvalidInputError } from '@argus/platform';
import {
  MICROS_PER_USD,
  type BudgetCounterLimits,
  type BudgetDimension,
  type BudgetRemaining,
  type BudgetTotals,
  type BudgetUsage,
} from './ports.ts';

/** Usage and limits in integer units: actions, tokens, micro-dollars. `-1` = unlimited. */
export interface IntegerBudget {
  actions: number;
  tokens: number;
  micros: number;
}

function amount(value: number | undefined, path: string): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0)
    throw new InvalidInputError(`budget amount must be a non-negative number`, [{ path, message: 'must be a non-negative finite number' }]);
  return value;
}

/** Usage in integer units; throws `InvalidInputError` for a negative or non-finite amount. */
export function usageUnits(usage: BudgetUsage): IntegerBudget {
  return {
    actions: Math.ceil(amount(usage.actions, '/actions')),
    tokens: Math.ceil(amount(usage.tokens, '/tokens')),
    micros: Math.round(amount(usage.costUsd, '/costUsd') * MICROS_PER_USD),
  };
}

/** Limits in integer units, `-1` for unlimited. */
export function limitUnits(limits: BudgetCounterLimits): IntegerBudget {
  return {
    actions: limits.maxActions === undefined ? -1 : Math.floor(amount(limits.maxActions, '/maxActions')),
    tokens: limits.maxTokens === undefined ? -1 : Math.floor(amount(limits.maxTokens, '/maxTokens')),
    micros: limits.maxCostUsd === undefined ? -1 : Math.round(amount(limits.maxCostUsd, '/maxCostUsd') * MICROS_PER_USD),
  };
}

/** Totals from integer units. */
export function toTotals(units: IntegerBudget): BudgetTotals {
  return { actions: units.actions, tokens: units.tokens, costUsd: units.micros / MICROS_PER_USD };
}

/** Remaining per limited dimension, floored at zero. */
export function remaining(used: IntegerBudget, limits: IntegerBudget): BudgetRemaining {
  const r: BudgetRemaining = {};
  if (limits.actions >= 0) r.actions = Math.max(0, limits.actions - used.actions);
  if (limits.tokens >= 0) r.tokens = Math.max(0, limits.tokens - used.tokens);
  if (limits.micros >= 0) r.costUsd = Math.max(0, limits.micros - used.micros) / MICROS_PER_USD;
  return r;
}

/** The dimensions a request exceeds (see the rule on `BudgetCounter`). Mirrors the Redis script. */
export function exceeded(used: IntegerBudget, want: IntegerBudget, limits: IntegerBudget): BudgetDimension[] {
  const out: BudgetDimension[] = [];
  const over = (u: number, w: number, l: number) => l >= 0 && (u + w > l || u >= l);
  if (over(used.actions, want.actions, limits.actions)) out.push('actions');
  if (over(used.tokens, want.tokens, limits.tokens)) out.push('tokens');
  if (over(used.micros, want.micros, limits.micros)) out.push('costUsd');
  return out;
}

/** Decodes the exceeded bitmask of the Redis script (1 actions, 2 tokens, 4 cost). */
export function exceededFromMask(mask: number): BudgetDimension[] {
  const out: BudgetDimension[] = [];
  if (mask & 1) out.push('actions');
  if (mask & 2) out.push('tokens');
  if (mask & 4) out.push('costUsd');
  return out;
}
