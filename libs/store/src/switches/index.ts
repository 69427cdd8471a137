/** Switches: the port and its adapters (in-process, SQLite, MongoDB). */
export * from './ports.ts';
export { MemorySwitchStore } from './memory-switch-store.ts';
export { SqliteSwitchStore } from './sqlite-switch-store.ts';
export { MongoSwitchStore } from './mongo-switch-store.ts';
