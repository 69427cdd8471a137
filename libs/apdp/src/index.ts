/** The agentic policy decision point: decision API, policy holder, runtime (the decision itself is `@argus/decision`). */
export * from './app.ts';
export * from './policy-holder.ts';
export * from './policy-files.ts';
export * from './policy-watcher.ts';
export { invalidPolicy, type PolicyPublished } from './routes/policies.ts';
export * from './runtime.ts';
export * from './shadow.ts';
export { templatesRouter, shadowRouter } from './routes/templates.ts';
export { createDecisionsRouter } from './routes/decisions.ts';
export { createGovernanceRouter } from './routes/governance.ts';
export { openapiRouter, expressRoutes } from './routes/openapi.ts';
export * from './effects/index.ts';
export * from './policy-versions.ts';
export * from './config.ts';
export { main, startApdp, loadApdpConfig, type RunningApdp } from './service.ts';
