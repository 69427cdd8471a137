/** Wire types and validators compiled from `schemas/`. */
export * from './validator.ts';
export * from './types.ts';
export * from './codes.ts';
export * from './ids.ts';
