import { exceeded, limitUnits, remaining, toTotals, usageUnits, type IntegerBudget } from './budget-math.ts';
import type { BudgetCounter, BudgetCounterLimits, BudgetTotals, BudgetUsage, ConsumeResult } from './ports.ts';

/**
 * In-process goal budgets for the embedded mode. Check-and-consume is atomic because it runs
 * synchronously between awaits; it is NOT shared between processes (use `RedisBudgetCounter`).
 */
export class MemoryBudgetCounter implements BudgetCounter {
  private readonly totals = new Map<string, IntegerBudget>();

  private read(goalId: string): IntegerBudget {
    return this.totals.get(goalId) ?? { actions: 0, tokens: 0, micros: 0 };
  }

  async consume(goalId: string, usage: BudgetUsage, limits: BudgetCounterLimits): Promise<ConsumeResult> {
    const want = usageUnits(usage);
    const lim = limitUnits(limits);
    const used = this.read(goalId);
    const over = exceeded(used, want, lim);
    if (over.length > 0) return { ok: false, used: toTotals(used), remaining: remaining(used, lim), exceeded: over };
    const next = { actions: used.actions + want.actions, tokens: used.tokens + want.tokens, micros: used.micros + want.micros };
    this.totals.set(goalId, next);
    return { ok: true, used: toTotals(next), remaining: remaining(next, lim), exceeded: [] };
  }

  async report(goalId: string, usage: BudgetUsage): Promise<BudgetTotals> {
    const want = usageUnits(usage);
    const used = this.read(goalId);
    const next = { actions: used.actions + want.actions, tokens: used.tokens + want.tokens, micros: used.micros + want.micros };
    this.totals.set(goalId, next);
    return toTotals(next);
  }

  async get(goalId: string): Promise<BudgetTotals> {
    return toTotals(this.read(goalId));
  }

  async reset(goalId: string): Promise<void> {
    this.totals.delete(goalId);
  }
}
