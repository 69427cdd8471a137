import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UnavailableError } from '@argus/platform';
import { checkWindow } from './memory-window-counter.ts';
import type { WindowCounter, WindowHit } from './ports.ts';

/**
 * Sliding window over a sorted set scored by the Redis server's clock (TIME), so replicas with
 * skewed clocks agree. KEYS[1]: the set; ARGV: windowMs, limit (-1 = none), unique member suffix.
 * Returns {allowed (0/1), count}.
 */
const HIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[2])
if limit >= 0 and n >= limit then return { 0, n } end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return { 1, n + 1 }
`;

const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
`;

/** Options of `RedisWindowCounter`. */
export interface RedisWindowCounterOptions {
  /** Key prefix: `<prefix>window:<windowMs>:<key>`. Default `argus:`. */
  prefix?: string;
}

type RedisWithWindow = Redis & {
  argusWindowHit(key: string, ...args: (string | number)[]): Promise<number[]>;
  argusWindowCount(key: string, ...args: (string | number)[]): Promise<number>;
};

/** Sliding-window counters in Redis, shared by every replica. Redis errors become `UnavailableError`. */
export class RedisWindowCounter implements WindowCounter {
  private readonly client: RedisWithWindow;
  private readonly prefix: string;

  constructor(client: Redis, options: RedisWindowCounterOptions = {}) {
    this.prefix = options.prefix ?? 'argus:';
    const c = client as RedisWithWindow;
    if (typeof c.argusWindowHit !== 'function') c.defineCommand('argusWindowHit', { numberOfKeys: 1, lua: HIT });
    if (typeof c.argusWindowCount !== 'function') c.defineCommand('argusWindowCount', { numberOfKeys: 1, lua: COUNT });
    this.client = c;
  }

  /** The Redis key of a counter. */
  key(key: string, windowMs: number): string {
    return `${this.prefix}window:${windowMs}:${key}`;
  }

  async hit(key: string, windowMs: number, options: { limit?: number } = {}): Promise<WindowHit> {
    checkWindow(windowMs, options.limit);
    const member = randomBytes(8).toString('hex');
    const out = await this.call(() => this.client.argusWindowHit(this.key(key, windowMs), windowMs, options.limit ?? -1, member));
    return { allowed: Number(out[0]) === 1, count: Number(out[1]) };
  }

  async count(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs);
    return Number(await this.call(() => this.client.argusWindowCount(this.key(key, windowMs), windowMs)));
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new UnavailableError('window counter unavailable', err);
    }
  }
}
