/** Builds the configured sinks, fan-out style; the first store that can be queried serves the read side. */
import { syncsCommits, type AuditConfig } from '../config.ts';
import type { AuditQueryStore, AuditSink } from '../types.ts';
import { createJsonlSink } from './jsonl.ts';
import { openMongoAuditStore } from './mongodb.ts';
import { openSqliteAuditStore } from './sqlite.ts';
import { createStdoutSink } from './stdout.ts';

export { createJsonlSink, type JsonlSinkOptions } from './jsonl.ts';
export { createMemoryAuditStore, type MemoryAuditStore } from './memory.ts';
export { openMongoAuditStore, type MongoAuditStore, type MongoAuditStoreOptions } from './mongodb.ts';
export { openSqliteAuditStore, type SqliteAuditStore, type SqliteAuditStoreOptions } from './sqlite.ts';
export { createStdoutSink } from './stdout.ts';

/** The sinks of a configuration, and the query store among them (SQLite or MongoDB), if any. */
export interface ConfiguredSinks {
  sinks: AuditSink[];
  query?: AuditQueryStore;
}

/**
 * Opens the store the read side queries (the first SQLite or MongoDB sink of the configuration), for
 * a process whose audit thread owns the writing. Undefined when no sink can be queried.
 */
export async function openQueryStore(config: Pick<AuditConfig, 'sinks'>): Promise<(AuditQueryStore & AuditSink) | undefined> {
  for (const s of config.sinks) {
    if (s.type === 'sqlite') return openSqliteAuditStore({ path: s.path, busyTimeoutMs: s.busyTimeoutMs });
    if (s.type === 'mongodb') return openMongoAuditStore({ url: s.url, database: s.database, collection: s.collection });
  }
  return undefined;
}

/** Opens every sink of `config.sinks`. On failure, closes what was opened and rethrows. */
export async function createSinks(config: Pick<AuditConfig, 'sinks' | 'durability'>): Promise<ConfiguredSinks> {
  const sinks: AuditSink[] = [];
  let query: AuditQueryStore | undefined;
  const strict = syncsCommits(config.durability);
  try {
    for (const s of config.sinks) {
      switch (s.type) {
        case 'sqlite': {
          const store = openSqliteAuditStore({
            path: s.path,
            busyTimeoutMs: s.busyTimeoutMs,
            synchronous: strict ? 'FULL' : 'NORMAL',
            // The trail's writer leaves the WAL's checkpoints to a thread once it has written about
            // a checkpoint's worth (1,000 pages, ~1,100 records): idle, no thread.
            checkpointThreadAfter: 1000,
          });
          sinks.push(store);
          query ??= store;
          break;
        }
        case 'mongodb': {
          const store = await openMongoAuditStore({ url: s.url, database: s.database, collection: s.collection });
          sinks.push(store);
          query ??= store;
          break;
        }
        case 'jsonl':
          sinks.push(createJsonlSink({ path: s.path, maxBytes: s.maxBytes, maxFiles: s.maxFiles, fsync: s.fsync ?? strict }));
          break;
        case 'stdout':
          sinks.push(createStdoutSink());
          break;
      }
    }
  } catch (err) {
    await Promise.all(sinks.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
  return query ? { sinks, query } : { sinks };
}
