/** Moved to `libs/decision`; kept until the last importers in this app switch to `@argus/decision`. */
export * from '@argus/decision';
