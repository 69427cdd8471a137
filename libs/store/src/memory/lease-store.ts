import type { LeaseState, LeaseStore } from '../ports.ts';
import { systemClock, type Clock } from '../paging.ts';

/**
 * An alive lease; its ISO expiry is formatted when read (the decision path reads only the state,
 * on every decision, and the traffic marker ignores the answer of its renewals).
 */
function alive(expiresAtMs: number): LeaseState {
  return {
    state: 'alive',
    get expiresAt() {
      return new Date(expiresAtMs).toISOString();
    },
  };
}

/**
 * In-process leases: a map of expiry times, swept periodically so expired entries do not pile up.
 * Used by the embedded mode (`argus serve`) and as the fallback when no Redis is configured.
 */
export class MemoryLeaseStore implements LeaseStore {
  private readonly expiries = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly clock: Clock = systemClock,
    sweepIntervalMs = 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  async renew(kind: string, id: string, ttlMs: number): Promise<LeaseState> {
    const expiresAt = this.clock().getTime() + ttlMs;
    this.expiries.set(`${kind}\u0000${id}`, expiresAt);
    return alive(expiresAt);
  }

  async get(kind: string, id: string): Promise<LeaseState> {
    const expiresAt = this.expiries.get(`${kind}\u0000${id}`);
    if (expiresAt === undefined || expiresAt <= this.clock().getTime()) return { state: 'expired' };
    return alive(expiresAt);
  }

  async drop(kind: string, id: string): Promise<void> {
    this.expiries.delete(`${kind}\u0000${id}`);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.expiries.clear();
  }

  private sweep(): void {
    const now = this.clock().getTime();
    for (const [key, expiresAt] of this.expiries) if (expiresAt <= now) this.expiries.delete(key);
  }
}
