/** Secrets broker: encrypted credential store, resolution per agent and goal, scrubbing. */
export * from './ports.ts';
export * from './cipher.ts';
export * from './names.ts';
export * from './scrubber.ts';
export * from './broker.ts';
export * from './memory/memory-secret-store.ts';
export * from './sqlite/sqlite-secret-store.ts';
export * from './open-secret-store.ts';
export * from './config.ts';
