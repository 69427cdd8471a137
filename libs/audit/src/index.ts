/**
 * The decision audit trail: value-free, masked records of every decision, hash-chained and signed,
 * written off the decision path by a buffered writer that spills rather than loses, to SQLite,
 * MongoDB, rotating JSONL files and stdout; and the query side the decisions API reads.
 */
export * from './types.ts';
export * from './canonical-json.ts';
export { parsePath, toPointer, type DocPath } from './paths.ts';
export * from './record.ts';
export * from './chain.ts';
export * from './config.ts';
export * from './query-filters.ts';
export { SpillFile } from './spill.ts';
export * from './writer.ts';
export * from './sinks/index.ts';
export { makeDecisionEvent, SECRET_CANARY, type SampleKind } from './testing/events.ts';
export { writeTwoHoursOfAudit } from './testing/retention.ts';
