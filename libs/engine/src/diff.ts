import { evaluate, type EvaluateOptions } from './evaluate.ts';
import type { CompiledPolicySet } from './policy-set.ts';
import type { EngineDecision, EvaluationRequest } from './types.ts';

/** What a comparison needs of a decision: its outcome and the ids of its determining policies. */
export interface DecisionSummary {
  decision: string;
  policies: readonly string[];
}

/**
 * How a decision changed between two policy sets. `flipped` when the outcome changed; otherwise
 * `added`/`removed` may still show that a different policy now decides.
 */
export interface DecisionChange {
  flipped: boolean;
  from: string;
  to: string;
  /** Determining ids present after but not before. */
  added: string[];
  /** Determining ids present before but not after. */
  removed: string[];
}

/** Compares two decisions of the same request. */
export function compareDecisions(before: DecisionSummary, after: DecisionSummary): DecisionChange {
  const was = new Set(before.policies);
  const now = new Set(after.policies);
  return {
    flipped: before.decision !== after.decision,
    from: before.decision,
    to: after.decision,
    added: [...now].filter((id) => !was.has(id)).sort(),
    removed: [...was].filter((id) => !now.has(id)).sort(),
  };
}

/** An engine decision as a summary. */
export function summarize(decision: EngineDecision): DecisionSummary {
  return { decision: decision.decision, policies: decision.determining.map((p) => p.id) };
}

/** One request decided by two sets. */
export interface DecisionDiff {
  before: EngineDecision;
  after: EngineDecision;
  change: DecisionChange;
}

/** Decides the same Cedar request with two sets and compares the answers. */
export function diffDecision(
  before: CompiledPolicySet,
  after: CompiledPolicySet,
  request: EvaluationRequest,
  options: EvaluateOptions = {},
): DecisionDiff {
  const a = evaluate(before, request, options);
  const b = evaluate(after, request, options);
  return { before: a, after: b, change: compareDecisions(summarize(a), summarize(b)) };
}

/** Counts flips by `from→to` (e.g. `{"allow→deny": 3}`), for reports and metrics. */
export function countFlips(changes: Iterable<DecisionChange>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of changes) {
    if (!c.flipped) continue;
    const key = `${c.from}→${c.to}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
