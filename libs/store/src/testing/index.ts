/** Contract suites every adapter must pass; imported by tests only (they import vitest). */
export * from './test-clock.ts';
export * from './contract-registry.ts';
export * from './contract-policy-versions.ts';
export * from './contract-delegations.ts';
export * from './contract-goals.ts';
export * from './contract-switches.ts';
export * from './contract-signals.ts';
export * from './redis-server.ts';
