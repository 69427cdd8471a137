/**
 * The Cedar decision core. Pure: no I/O, no environment, no clock. Loads and validates a policy
 * set, holds it preparsed and partitioned, evaluates requests, and explains what it decided.
 */
export * from './types.ts';
export { compilePolicySet, uidKey, type CompiledPolicySet, type CompileResult } from './policy-set.ts';
export { analyseReads, type PolicyReads } from './reads.ts';
export {
  actionEntitiesFor,
  contextFor,
  evaluate,
  sliceEntities,
  sliceFor,
  referencedEntities,
  requestAnchors,
  type EvaluateOptions,
} from './evaluate.ts';
export { formatDiagnostic, locate } from './diagnostics.ts';
export { mergeObligations, type Obligations } from './obligations.ts';
export { bucketOf, type ScopeFacts, type PartitionIndex } from './partition.ts';
export {
  explainRequest,
  analysePolicy,
  contextKeysRead,
  type Explanation,
  type ExplainOptions,
  type PolicyAnalysis,
  type ConditionCheck,
  type ScopeCheck,
} from './explain.ts';
export {
  compareDecisions,
  diffDecision,
  countFlips,
  summarize,
  type DecisionSummary,
  type DecisionChange,
  type DecisionDiff,
} from './diff.ts';
export { formatPolicyText, commentsOf, droppedComments, type FormatOptions, type FormatResult } from './format.ts';
export { DecisionMemo, type DecisionMemoStats } from './memo.ts';
export { verificationStats, type CompiledEvaluation, type CompiledMismatch } from './compiled/index.ts';
/**
 * cedar-wasm as the engine loads it (after its V8 flags, see `cedar-wasm.ts`). Code outside the
 * engine that calls cedar-wasm directly imports it from here: a static import of the package in a
 * bundle is evaluated before the engine's code and so loads cedar-wasm without those flags.
 */
export { cedar as cedarWasm } from './cedar-wasm.ts';
export { resolvedSchemaJson } from './schema-values.ts';
export { cedarValueIssue, issuePath, schemaTypes, type SchemaTypes, type ValueCheck, type ValueIssue } from './request-values.ts';
