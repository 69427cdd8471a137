/**
 * Governance semantics IAM lacks: on whose authority (delegation chains), why (intents) and for
 * what objective (goals). Pure: no I/O, no clock, no logger — `now` and every fact are passed in.
 */
export * from './uid.ts';
export * from './time.ts';
export * from './scope.ts';
export * from './delegation-chain.ts';
export * from './delegation-token.ts';
export * from './goal.ts';
export * from './intent.ts';
export * from './to-cedar.ts';
export * from './facts.ts';
export * from './evaluate.ts';
export * from './resolve.ts';
