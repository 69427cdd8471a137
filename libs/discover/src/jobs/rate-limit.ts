/** Per-target rate limits in Redis (fixed window), shared by every worker on the queue. */
import type { Redis } from 'ioredis';

const SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then ttl = tonumber(ARGV[2]) end
  return ttl
end
return 0`;

/** Grants at most `max` scans of a target per `durationMs` window, across every worker process. */
export class TargetRateLimiter {
  constructor(
    private readonly redis: Redis,
    /** Key prefix; the limiter owns every key under `${keyPrefix}:ratelimit:`. */
    private readonly keyPrefix: string,
  ) {}

  /** Takes a slot; returns 0 when granted, otherwise the milliseconds until the window reopens. */
  async acquire(targetId: string, limit: { max: number; durationMs: number }): Promise<number> {
    const wait = await this.redis.eval(SCRIPT, 1, `${this.keyPrefix}:ratelimit:${targetId}`, limit.max, limit.durationMs);
    return Number(wait);
  }
}
