import type { Redis } from 'ioredis';
import { checkWindow, counterId, hitOne } from './memory-window-counter.ts';
import { sliceSize, type WindowCounter, type WindowHit, type WindowHits, type WindowSpec } from './ports.ts';
import { orUnavailable } from '../unavailable.ts';
import { withScripts } from '../redis/scripts.ts';

/**
 * Sliding windows as hashes scored by the Redis server's clock (TIME), so replicas with skewed
 * clocks agree: a field per slice of the window (`sliceOf`: the slice's last millisecond; a
 * millisecond for windows up to a minute) holding its hits, so a counter of a longer window holds
 * at most 101 fields whatever its traffic. All or nothing over every
 * key, in one script (atomic across replicas).
 * KEYS: the hashes; ARGV: windowMs, slice size (ms), limit (-1 = none) per key.
 * Returns {allowed (0/1), count per key...}; when refused, the counts are unchanged and a
 * key at its limit has its count negated minus one (-(n + 1)), so the caller knows which refused.
 */
const HIT_ALL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local counts = {}
local newest = {}
local ok = 1
for i = 1, #KEYS do
  local cutoff = now - tonumber(ARGV[3 * i - 2])
  local limit = tonumber(ARGV[3 * i])
  local fields = redis.call('HGETALL', KEYS[i])
  local n = 0
  local last = -1
  for j = 1, #fields, 2 do
    local at = tonumber(fields[j])
    if at <= cutoff then
      redis.call('HDEL', KEYS[i], fields[j])
    else
      n = n + tonumber(fields[j + 1])
      if at > last then last = at end
    end
  end
  counts[i] = n
  newest[i] = last
  if limit >= 0 and n >= limit then
    ok = 0
    counts[i] = -(n + 1)
  end
end
if ok == 0 then
  table.insert(counts, 1, 0)
  return counts
end
local added = {}
for i = 1, #KEYS do
  local window = tonumber(ARGV[3 * i - 2])
  local size = tonumber(ARGV[3 * i - 1])
  local at = (math.floor(now / size) + 1) * size - 1
  if newest[i] > at then at = newest[i] end
  redis.call('HINCRBY', KEYS[i], string.format('%d', at), 1)
  redis.call('PEXPIRE', KEYS[i], at - now + window + 1)
  added[KEYS[i]] = (added[KEYS[i]] or 0) + 1
  counts[i] = counts[i] + added[KEYS[i]]
end
table.insert(counts, 1, 1)
return counts
`;

/** KEYS: the hashes; ARGV: windowMs per key. Returns the count per key. */
const COUNT_ALL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local counts = {}
for i = 1, #KEYS do
  local cutoff = now - tonumber(ARGV[i])
  local fields = redis.call('HGETALL', KEYS[i])
  local n = 0
  for j = 1, #fields, 2 do
    if tonumber(fields[j]) > cutoff then n = n + tonumber(fields[j + 1]) end
  end
  counts[i] = n
end
return counts
`;

/** Options of `RedisWindowCounter`. */
export interface RedisWindowCounterOptions {
  /** Key prefix: `<prefix>slices:<windowMs>:<key>`. Default `argus:`. */
  prefix?: string;
}

type RedisWithWindow = Redis & {
  argusWindowHitAll(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
  argusWindowCountAll(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
};

/** Sliding-window counters in Redis, shared by every replica. Redis errors become `UnavailableError`. */
export class RedisWindowCounter implements WindowCounter {
  private readonly client: RedisWithWindow;
  private readonly prefix: string;

  constructor(client: Redis, options: RedisWindowCounterOptions = {}) {
    this.prefix = options.prefix ?? 'argus:';
    // The number of keys varies per call: it is passed first.
    this.client = withScripts<RedisWithWindow>(client, { argusWindowHitAll: { lua: HIT_ALL }, argusWindowCountAll: { lua: COUNT_ALL } });
  }

  /** The Redis key of a counter. */
  key(key: string, windowMs: number): string {
    return `${this.prefix}slices:${counterId({ key, windowMs })}`;
  }

  hit(key: string, windowMs: number, options: { limit?: number } = {}): Promise<WindowHit> {
    return hitOne(this, key, windowMs, options);
  }

  async hitAll(specs: readonly WindowSpec[]): Promise<WindowHits> {
    for (const s of specs) checkWindow(s.windowMs, s.limit);
    if (specs.length === 0) return { allowed: true, counts: [], refused: [] };
    const args = specs.flatMap((s) => [s.windowMs, sliceSize(s.windowMs), s.limit ?? -1]);
    const out = (
      await this.call(() => this.client.argusWindowHitAll(specs.length, ...specs.map((s) => this.key(s.key, s.windowMs)), ...args))
    ).map(Number);
    const raw = out.slice(1);
    return {
      allowed: out[0] === 1,
      counts: raw.map((n) => (n < 0 ? -n - 1 : n)),
      refused: raw.flatMap((n, i) => (n < 0 ? [i] : [])),
    };
  }

  async count(key: string, windowMs: number): Promise<number> {
    return (await this.countAll([{ key, windowMs }]))[0]!;
  }

  async countAll(specs: readonly Pick<WindowSpec, 'key' | 'windowMs'>[]): Promise<number[]> {
    for (const s of specs) checkWindow(s.windowMs);
    if (specs.length === 0) return [];
    const out = await this.call(() =>
      this.client.argusWindowCountAll(specs.length, ...specs.map((s) => this.key(s.key, s.windowMs)), ...specs.map((s) => s.windowMs)),
    );
    return out.map(Number);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return orUnavailable('window counter', fn);
  }
}
