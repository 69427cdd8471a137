import type { Redis } from 'ioredis';
import { UnavailableError } from '@argus/platform';
import type { LeaseState, LeaseStore } from '../ports.ts';
import { awaitFirstConnection, closeRedis, openRedis, type RedisConnectionOptions } from './connection.ts';

/**
 * Leases as Redis keys with a TTL (`<prefix>lease:<kind>:<id>`). A read that cannot reach Redis
 * answers `unknown` instead of throwing; the client reconnects by itself, so reads answer
 * `alive`/`expired` again as soon as Redis is back, without a restart.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly startupWaitMs: number;

  constructor(options: RedisConnectionOptions) {
    this.client = openRedis(options);
    this.prefix = options.prefix ?? 'argus:';
    this.startupWaitMs = options.connectTimeoutMs ?? 1_000;
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}lease:${kind}:${id}`;
  }

  async renew(kind: string, id: string, ttlMs: number): Promise<LeaseState> {
    const ttl = Math.max(1, Math.floor(ttlMs));
    await awaitFirstConnection(this.client, this.startupWaitMs);
    try {
      await this.client.set(this.key(kind, id), '1', 'PX', ttl);
    } catch (err) {
      throw new UnavailableError('lease store unavailable', err);
    }
    return { state: 'alive', expiresAt: new Date(Date.now() + ttl).toISOString() };
  }

  async get(kind: string, id: string): Promise<LeaseState> {
    let pttl: number;
    await awaitFirstConnection(this.client, this.startupWaitMs);
    try {
      pttl = await this.client.pttl(this.key(kind, id));
    } catch {
      return { state: 'unknown' };
    }
    // -2: no key; -1: a key without TTL (not written by us) counts as no lease.
    if (pttl <= 0) return { state: 'expired' };
    return { state: 'alive', expiresAt: new Date(Date.now() + pttl).toISOString() };
  }

  async drop(kind: string, id: string): Promise<void> {
    await awaitFirstConnection(this.client, this.startupWaitMs);
    try {
      await this.client.del(this.key(kind, id));
    } catch (err) {
      throw new UnavailableError('lease store unavailable', err);
    }
  }

  async close(): Promise<void> {
    await closeRedis(this.client);
  }
}
