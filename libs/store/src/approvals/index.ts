/** Human approvals: the port, the rules every adapter shares, and its adapters (in-process, Redis, SQLite). */
export * from './ports.ts';
export { MemoryApprovalStore, type MemoryApprovalStoreOptions } from './memory-approval-store.ts';
export { RedisApprovalStore, type RedisApprovalStoreOptions } from './redis-approval-store.ts';
export { SqliteApprovalStore, type SqliteApprovalStoreOptions } from './sqlite-approval-store.ts';
