/**
 * Enforcement effects of decisions: human approvals (routes; the store is `@argus/store`), acting
 * forbids (quarantine, revoke, escalate), quota counters for `context.usage`, and the
 * obligations helper enforcement points apply to what they return.
 */
export { createApprovalsRouter, type ApprovalsRouterDeps } from './approvals-router.ts';
export * from './decision-effects.ts';
export * from './escalation.ts';
export * from './obligations.ts';
export * from './config.ts';
