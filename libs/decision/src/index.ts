/**
 * The decision pipeline of Argus: check the request → resolve registry facts → governance → build
 * the Cedar request → evaluate → plan and commit effects → record (see README.md).
 */
export * from './ports.ts';
export * from './request-checks.ts';
export * from './entities.ts';
export * from './deny-explanation.ts';
export * from './governance-step.ts';
export * from './decision-service.ts';
