import type { Redis } from 'ioredis';
import { exceededFromMask, limitUnits, remaining, toTotals, usageUnits, type IntegerBudget } from './budget-math.ts';
import type { BudgetCounter, BudgetCounterLimits, BudgetTotals, BudgetUsage, ConsumeResult } from './ports.ts';
import { orUnavailable } from '../unavailable.ts';
import { withScripts } from '../redis/scripts.ts';

/**
 * Check-and-consume in ONE script, so concurrent replicas can never both take the last unit.
 * KEYS[1]: the goal's hash (fields a, t, c = actions, tokens, micro-dollars).
 * ARGV: wanted a, t, c; limits a, t, c (-1 = unlimited); ttl ms (0 = none).
 * Returns {exceededMask, a, t, c} with the totals after the call.
 * INVARIANT: the rule matches `exceeded()` in budget-math.ts: over when used + want > limit or used >= limit.
 */
const CONSUME = `
local cur = redis.call('HMGET', KEYS[1], 'a', 't', 'c')
local used = { tonumber(cur[1]) or 0, tonumber(cur[2]) or 0, tonumber(cur[3]) or 0 }
local mask = 0
for i = 1, 3 do
  local want = tonumber(ARGV[i])
  local limit = tonumber(ARGV[i + 3])
  if limit >= 0 and (used[i] + want > limit or used[i] >= limit) then mask = mask + 2 ^ (i - 1) end
end
if mask == 0 then
  local fields = { 'a', 't', 'c' }
  for i = 1, 3 do
    local want = tonumber(ARGV[i])
    if want > 0 then used[i] = redis.call('HINCRBY', KEYS[1], fields[i], want) end
  end
  local ttl = tonumber(ARGV[7])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return { mask, used[1], used[2], used[3] }
`;

/** Unconditional add. KEYS[1] hash; ARGV: a, t, c, ttl ms. Returns the totals. */
const REPORT = `
local fields = { 'a', 't', 'c' }
for i = 1, 3 do
  local want = tonumber(ARGV[i])
  if want > 0 then redis.call('HINCRBY', KEYS[1], fields[i], want) end
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
local cur = redis.call('HMGET', KEYS[1], 'a', 't', 'c')
return { tonumber(cur[1]) or 0, tonumber(cur[2]) or 0, tonumber(cur[3]) or 0 }
`;

/** Options of `RedisBudgetCounter`. */
export interface RedisBudgetCounterOptions {
  /** Prefix of every key, e.g. `argus:` → `argus:budget:<goalId>`. Default `argus:`. */
  prefix?: string;
  /** Expire a goal's totals this long after its last write (0: never). Default 0. */
  keyTtlMs?: number;
}

type RedisWithBudget = Redis & {
  argusBudgetConsume(key: string, ...args: (string | number)[]): Promise<number[]>;
  argusBudgetReport(key: string, ...args: (string | number)[]): Promise<number[]>;
};

/**
 * Goal budgets in Redis, shared by every replica. Takes a connected ioredis client (the
 * composition root owns it and closes it). Redis errors become `UnavailableError`, so the decision
 * path can fail closed.
 */
export class RedisBudgetCounter implements BudgetCounter {
  private readonly client: RedisWithBudget;
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(client: Redis, options: RedisBudgetCounterOptions = {}) {
    this.prefix = options.prefix ?? 'argus:';
    this.ttlMs = Math.max(0, Math.floor(options.keyTtlMs ?? 0));
    this.client = withScripts<RedisWithBudget>(client, {
      argusBudgetConsume: { numberOfKeys: 1, lua: CONSUME },
      argusBudgetReport: { numberOfKeys: 1, lua: REPORT },
    });
  }

  /** The Redis key of a goal's totals. */
  key(goalId: string): string {
    return `${this.prefix}budget:${goalId}`;
  }

  async consume(goalId: string, usage: BudgetUsage, limits: BudgetCounterLimits): Promise<ConsumeResult> {
    const want = usageUnits(usage);
    const lim = limitUnits(limits);
    const out = await this.call(() =>
      this.client.argusBudgetConsume(
        this.key(goalId),
        want.actions,
        want.tokens,
        want.micros,
        lim.actions,
        lim.tokens,
        lim.micros,
        this.ttlMs,
      ),
    );
    const used: IntegerBudget = { actions: Number(out[1]), tokens: Number(out[2]), micros: Number(out[3]) };
    const over = exceededFromMask(Number(out[0]));
    return { ok: over.length === 0, used: toTotals(used), remaining: remaining(used, lim), exceeded: over };
  }

  async report(goalId: string, usage: BudgetUsage): Promise<BudgetTotals> {
    const want = usageUnits(usage);
    const out = await this.call(() => this.client.argusBudgetReport(this.key(goalId), want.actions, want.tokens, want.micros, this.ttlMs));
    return toTotals({ actions: Number(out[0]), tokens: Number(out[1]), micros: Number(out[2]) });
  }

  async get(goalId: string): Promise<BudgetTotals> {
    const cur = await this.call(() => this.client.hmget(this.key(goalId), 'a', 't', 'c'));
    return toTotals({ actions: Number(cur[0] ?? 0), tokens: Number(cur[1] ?? 0), micros: Number(cur[2] ?? 0) });
  }

  async reset(goalId: string): Promise<void> {
    await this.call(() => this.client.del(this.key(goalId)));
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return orUnavailable('budget counter', fn);
  }
}
