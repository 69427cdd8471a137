import type { Database } from 'better-sqlite3';
import type { Db } from 'mongodb';
import { ConfigError, type Logger } from '@argus/platform';
import type { DelegationStore, EventBus, GoalStore, LeaseStore, PolicyVersionStore, RegistryStore } from './ports.ts';
import { systemClock, type Clock } from './paging.ts';
import { openSqlite } from './sqlite/open.ts';
import { openMongo, type MongoOptions } from './mongo/open.ts';
import { MemoryLeaseStore } from './memory/lease-store.ts';
import { MemoryEventBus } from './memory/event-bus.ts';
import { RedisLeaseStore } from './redis/lease-store.ts';
import { RedisEventBus } from './redis/event-bus.ts';
import { MongoSwitchStore, SqliteSwitchStore, type SwitchStore } from './switches/index.ts';
import type { RedisConnectionOptions } from './redis/connection.ts';

/** The store URL used when none is configured: a SQLite file under `.argus/`. */
export const DEFAULT_STORE_URL = 'sqlite:.argus/argus.db';

/** The document stores behind one connection, chosen by URL. */
export interface Storage {
  backend: 'sqlite' | 'mongo';
  registry: RegistryStore;
  policies: PolicyVersionStore;
  delegations: DelegationStore;
  goals: GoalStore;
  /** Stopped agents, tools, servers, or everything (kept with the documents, never only in Redis). */
  switches: SwitchStore;
  /** The SQLite handle (sqlite backend), for later stores that keep their tables in the same file. */
  sqlite?: Database;
  /** The MongoDB database (mongo backend), for later stores that share the connection. */
  mongo?: Db;
  /** A cheap round trip for readiness checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Options of {@link openStorage}. */
export interface StorageOptions {
  clock?: Clock;
  sqlite?: { busyTimeoutMs?: number };
  mongo?: Omit<MongoOptions, 'clock'>;
}

/** Where a store URL points, without opening anything. Never echoes the URL (it may hold a password). */
export function parseStoreUrl(url: string): { backend: 'sqlite'; path: string } | { backend: 'mongo'; url: string } {
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '')
      throw new ConfigError('store URL names no SQLite file', [
        { path: '/store/url', message: 'expected `sqlite:<path>` or `sqlite::memory:`' },
      ]);
    return { backend: 'sqlite', path };
  }
  if (url.startsWith('mongodb://') || url.startsWith('mongodb+srv://')) return { backend: 'mongo', url };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new ConfigError(`unsupported store URL scheme \`${scheme ?? '(none)'}\``, [
    { path: '/store/url', message: 'expected `sqlite:<path>` or `mongodb://...`' },
  ]);
}

/**
 * Opens the document stores named by `url`: `sqlite:<path>` (default `sqlite:.argus/argus.db`),
 * `sqlite::memory:`, or `mongodb://...` / `mongodb+srv://...`. Migrations (SQLite) or indexes
 * (MongoDB) are applied before this resolves.
 */
export async function openStorage(url: string = DEFAULT_STORE_URL, options: StorageOptions = {}): Promise<Storage> {
  const target = parseStoreUrl(url);
  if (target.backend === 'sqlite') {
    const s = openSqlite(target.path, { ...(options.clock ? { clock: options.clock } : {}), ...options.sqlite });
    return {
      backend: 'sqlite',
      registry: s.registry,
      policies: s.policies,
      delegations: s.delegations,
      goals: s.goals,
      switches: new SqliteSwitchStore(s.db, options.clock ?? systemClock),
      sqlite: s.db,
      ping: async () => s.db.open && s.db.prepare('SELECT 1 AS ok').get() !== undefined,
      close: async () => {
        if (s.db.open) s.db.close();
      },
    };
  }
  const m = await openMongo(target.url, { ...options.mongo, ...(options.clock ? { clock: options.clock } : {}) });
  return {
    backend: 'mongo',
    registry: m.registry,
    policies: m.policies,
    delegations: m.delegations,
    goals: m.goals,
    switches: new MongoSwitchStore(m.db, options.clock ?? systemClock),
    mongo: m.db,
    ping: async () => {
      try {
        await m.db.command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
    close: () => m.client.close(),
  };
}

/** Options of the lease store and event bus factories. Without `redisUrl` they are in-process. */
export interface SignalOptions extends Partial<Omit<RedisConnectionOptions, 'url'>> {
  redisUrl?: string;
  clock?: Clock;
  logger?: Logger;
}

/** Redis leases with key TTLs when `redisUrl` is set, in-process leases otherwise. */
export function openLeaseStore(options: SignalOptions = {}): LeaseStore {
  if (!options.redisUrl) return new MemoryLeaseStore(options.clock);
  return new RedisLeaseStore({ ...options, url: options.redisUrl });
}

/** Redis pub/sub when `redisUrl` is set, the in-process bus otherwise. */
export function openEventBus(options: SignalOptions = {}): EventBus {
  if (!options.redisUrl) return new MemoryEventBus(options.logger);
  return new RedisEventBus({ ...options, url: options.redisUrl }, options.logger);
}
