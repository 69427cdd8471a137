/**
 * Enforcement effects of decisions: human approvals (store port + adapters + routes), acting
 * forbids (quarantine, revoke, escalate), quota counters for `context.usage`, and the
 * obligations helper enforcement points apply to what they return.
 */
export * from './approval-store.ts';
export { MemoryApprovalStore, type MemoryApprovalStoreOptions } from './memory-approval-store.ts';
export { RedisApprovalStore, type RedisApprovalStoreOptions } from './redis-approval-store.ts';
export { SqliteApprovalStore, type SqliteApprovalStoreOptions } from './sqlite-approval-store.ts';
export { createApprovalsRouter, type ApprovalsRouterDeps } from './approvals-router.ts';
export * from './decision-effects.ts';
export * from './escalation.ts';
export * from './obligations.ts';
export * from './config.ts';
