import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

/** ioredis loads when a client is opened: a process without Redis never pays for it. */
const ioredis = (): typeof import('ioredis') => createRequire(import.meta.url)('ioredis') as typeof import('ioredis');

/** Connection settings shared by the Redis adapters. */
export interface RedisConnectionOptions {
  /** `redis://host:port/db`. */
  url: string;
  /** Prefix of every key and channel this process touches, e.g. `argus:`. */
  prefix?: string;
  /** Upper bound of the reconnect back-off. */
  reconnectMaxDelayMs?: number;
  /** A command that gets no answer within this time fails (and a lease read answers `unknown`). */
  commandTimeoutMs?: number;
  /** Bound on connecting. */
  connectTimeoutMs?: number;
}

/**
 * Opens an ioredis client that never queues commands while disconnected (they fail at once, so
 * callers can fail closed) and keeps reconnecting in the background, so service resumes by
 * itself when Redis returns.
 */
export function openRedis(options: RedisConnectionOptions, extra: RedisOptions = {}): Redis {
  const maxDelay = options.reconnectMaxDelayMs ?? 2_000;
  const client = new (ioredis().Redis)(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    lazyConnect: false,
    ...extra,
  });
  // INVARIANT: an 'error' listener must exist or ioredis crashes the process on connection loss.
  client.on('error', () => undefined);
  client.once('ready', () => everReady.add(client));
  return client;
}

const everReady = new WeakSet<Redis>();

/**
 * Waits (at most `timeoutMs`) for a client that has never been connected yet, so the first
 * commands after start-up do not fail merely because the socket is still opening. Once the
 * client has been ready, an outage is not waited for: commands fail fast and callers fail closed.
 */
export async function awaitFirstConnection(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready' || everReady.has(client)) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
    client.once('ready', done);
  });
}

/** Quits politely, or disconnects when Redis is not reachable. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect(false);
}
