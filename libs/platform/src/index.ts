/** Process plumbing shared by every app: errors, logging, metrics, HTTP helpers, health, shutdown, config. */
export * from './errors.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './http.ts';
export * from './json-keys.ts';
export * from './health.ts';
export * from './shutdown.ts';
export * from './open-list.ts';
export * from './auth.ts';
export * from './permissions.ts';
export * from './config.ts';
export * from './hash.ts';
export * from './ids.ts';
