/** Storage ports and their adapters (SQLite, MongoDB, Redis, in-process), plus the registry read view. */
export * from './ports.ts';
export { pageLimit, encodeCursor, decodeCursor, systemClock, type Clock } from './paging.ts';
export * from './trust.ts';
export * from './tool-hash.ts';
export { normalizeInstant, isGrantActive } from './records.ts';
export * from './open-storage.ts';
export * from './registry-view.ts';
export { runMigrations, STORE_MIGRATIONS, type Migration } from './sqlite/migrations.ts';
export { openSqlite, type SqliteStores } from './sqlite/open.ts';
export { openMongo, type MongoOptions, type MongoStores } from './mongo/open.ts';
export { MemoryLeaseStore } from './memory/lease-store.ts';
export { MemoryEventBus, LocalDispatcher } from './memory/event-bus.ts';
export { RedisLeaseStore } from './redis/lease-store.ts';
export { RedisEventBus } from './redis/event-bus.ts';
export { openRedis, closeRedis, type RedisConnectionOptions } from './redis/connection.ts';
export * from './counters/index.ts';
export * from './switches/index.ts';
export * from './approvals/index.ts';
