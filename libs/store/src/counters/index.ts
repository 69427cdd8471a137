/** Goal budget and sliding-window counters: the ports and their memory and Redis adapters. */
export * from './ports.ts';
export { MemoryBudgetCounter } from './memory-budget-counter.ts';
export { RedisBudgetCounter, type RedisBudgetCounterOptions } from './redis-budget-counter.ts';
export { MemoryWindowCounter, type MemoryWindowCounterOptions } from './memory-window-counter.ts';
export { RedisWindowCounter, type RedisWindowCounterOptions } from './redis-window-counter.ts';
export { SqliteWindowCounter, type SqliteWindowCounterOptions } from '../sqlite/window-counter.ts';
