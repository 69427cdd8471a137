/**
 * The decision pipeline of Argus (see README.md): check the request → resolve facts → governance →
 * build the Cedar request → evaluate → plan and commit effects → record.
 */
export * from './ports.ts';
export * from './outcome.ts';
export * from './request-checks.ts';
export * from './entities.ts';
export * from './check-request.ts';
export * from './resolve-facts.ts';
export * from './apply-governance.ts';
export * from './cedar-request.ts';
export * from './evaluate-policies.ts';
export * from './deny-explanation.ts';
export * from './effects.ts';
export * from './timeout.ts';
export * from './record.ts';
export * from './governance-step.ts';
export * from './decision-service.ts';
export * from './candidate.ts';
