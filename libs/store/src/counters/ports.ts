/**
 * Counters on the decision path: goal budgets (atomic check-and-consume) and sliding-window
 * counts (quotas). In-process in the embedded mode, Redis across replicas.
 */

/** An amount of budget use. Absent dimensions are zero. */
export interface BudgetUsage {
  actions?: number;
  tokens?: number;
  costUsd?: number;
}

/** Usage totals of one goal. */
export interface BudgetTotals {
  actions: number;
  tokens: number;
  costUsd: number;
}

/** Limits to check against; an absent dimension is unlimited. Same shape as a goal's `budget`. */
export interface BudgetCounterLimits {
  maxActions?: number;
  maxTokens?: number;
  maxCostUsd?: number;
}

/** A budget dimension. */
export type BudgetDimension = 'actions' | 'tokens' | 'costUsd';

/** What is left per limited dimension (never negative). */
export interface BudgetRemaining {
  actions?: number;
  tokens?: number;
  costUsd?: number;
}

/** The answer of a check-and-consume. When `ok` is false nothing was consumed. */
export interface ConsumeResult {
  ok: boolean;
  /** Totals after the call (unchanged when refused). */
  used: BudgetTotals;
  remaining: BudgetRemaining;
  /** The dimensions that refused, empty when `ok`. */
  exceeded: BudgetDimension[];
}

/**
 * Goal budget counters.
 *
 * Rule of `consume`: for each limited dimension, `used + requested ≤ limit` and `used < limit`
 * (something must be left, even when nothing is requested — tokens and cost are usually reported
 * after the call). Either every dimension is consumed or none is, atomically across every process
 * sharing the backend. Cost is kept in integer micro-dollars, so totals do not drift.
 */
export interface BudgetCounter {
  consume(goalId: string, usage: BudgetUsage, limits: BudgetCounterLimits): Promise<ConsumeResult>;
  /** Adds usage after the fact (tokens, cost from an LLM response), unconditionally; answers the new totals. */
  report(goalId: string, usage: BudgetUsage): Promise<BudgetTotals>;
  get(goalId: string): Promise<BudgetTotals>;
  /** Forgets a goal's totals (goal deleted, tests). */
  reset(goalId: string): Promise<void>;
}

/** The answer of a sliding-window hit. When `allowed` is false the hit was not recorded. */
export interface WindowHit {
  allowed: boolean;
  /** Hits in the window after this call. */
  count: number;
}

/** One counter of a multi-counter hit: `(key, windowMs)`, and the limit it must stay within (none: always recorded). */
export interface WindowSpec {
  key: string;
  windowMs: number;
  limit?: number;
}

/** The answer of `hitAll`. When `allowed` is false no counter was hit. */
export interface WindowHits {
  allowed: boolean;
  /** Hits in each window after the call, in the order of the specs (unchanged when refused). */
  counts: number[];
  /** Indexes of the specs whose counter was at its limit (empty when allowed). */
  refused: number[];
}

/**
 * Windows up to this long are kept to the millisecond (a counter holds at most one entry per
 * millisecond of its window, 60,000); longer ones by slices of a hundredth of the window, so a
 * counter of a long window holds at most `WINDOW_SLICES + 1` entries however many hits it counts.
 */
export const EXACT_WINDOW_MS = 60_000;
export const WINDOW_SLICES = 100;

/** The slice size of a window, in ms (see {@link sliceOf}). */
export function sliceSize(windowMs: number): number {
  return windowMs <= EXACT_WINDOW_MS ? 1 : Math.ceil(windowMs / WINDOW_SLICES);
}

/**
 * The time a hit recorded at `now` is kept at: the last millisecond of its slice (slices of
 * {@link sliceSize} ms from the epoch). A hit counts while this time is after `now - windowMs`.
 * Windows up to a minute are exact: a hit leaves exactly `windowMs` after it was recorded. A longer
 * one leaves between `windowMs` and `windowMs` plus one slice (less a millisecond) after: never
 * earlier, so a limit is never exceeded over any window of `windowMs`, and at most 1 % late.
 */
export function sliceOf(now: number, windowMs: number): number {
  const size = sliceSize(windowMs);
  return (Math.floor(now / size) + 1) * size - 1;
}

/**
 * Sliding-window counters for quotas. A counter is identified by `(key, windowMs)`: the same key
 * counted over a minute and over an hour is two counters, each hit separately. Windows up to a
 * minute slide to the millisecond; longer ones by slices of a hundredth of the window
 * ({@link sliceOf}), so a hit leaves at least `windowMs` and at most `windowMs` plus one slice after
 * it was recorded, and the counter holds at most 101 entries whatever its traffic.
 */
export interface WindowCounter {
  /**
   * Records a hit now and answers the count over the last `windowMs`. With `limit`, the hit is
   * recorded only when fewer than `limit` hits are in the window (atomic check-and-record).
   */
  hit(key: string, windowMs: number, options?: { limit?: number }): Promise<WindowHit>;
  /**
   * Records one hit on every counter, or on none: refused when any counter with a limit already
   * holds `limit` hits. Atomic across every process sharing the backend, so concurrent callers
   * can never take a counter past its limit, and a refusal by one counter spends no other.
   */
  hitAll(specs: readonly WindowSpec[]): Promise<WindowHits>;
  /** Hits over the last `windowMs`, without recording one. */
  count(key: string, windowMs: number): Promise<number>;
  /** The counts of several counters in one round trip, in order. */
  countAll(specs: readonly Pick<WindowSpec, 'key' | 'windowMs'>[]): Promise<number[]>;
}

/** Micro-dollars per dollar: cost is stored as an integer count of these. */
export const MICROS_PER_USD = 1_000_000;
