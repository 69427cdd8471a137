/**
 * Shadow mode: a candidate policy set evaluated beside the live one on real traffic. The live
 * answer is always the one enforced; the candidate's answer is only compared, counted and
 * reported, so a policy change can be watched on production requests before it is promoted.
 */
import { evaluateOnCandidate } from '@argus/decision';
import {
  compareDecisions,
  compilePolicySet,
  summarize,
  type CompiledPolicySet,
  type DecisionSummary,
  type Diagnostic,
  type EvaluationRequest,
  type PolicySetInput,
} from '@argus/engine';
import { Counter, metric, type Registry } from '@argus/platform';

/** A decision the candidate would have made differently: what the audit record carries. */
export interface ShadowFlip {
  candidateVersion: string;
  /** The live outcome (enforced). */
  from: string;
  /** The candidate's outcome (not enforced). */
  to: string;
  livePolicies: string[];
  candidatePolicies: string[];
}

/** What `GET /v1/policies/shadow` reports. Counts are for the current candidate only. */
export interface ShadowStatus {
  active: boolean;
  version?: string;
  since?: string;
  policies?: number;
  evaluations: number;
  /** Flips by `from→to`, e.g. `{"allow→deny": 3}`. */
  flips: Record<string, number>;
  /** The most recent flips, newest last (bounded). */
  recent: Array<ShadowFlip & { at: string }>;
}

/** The answer of `setCandidate`. */
export type CandidateResult = { ok: true; version: string; policies: number } | { ok: false; diagnostics: Diagnostic[] };

/** Collaborators of the shadow evaluator. */
export interface ShadowDeps {
  metrics: Registry;
  clock?: () => Date;
  /** How many recent flips `status()` keeps. Default 50. */
  recentLimit?: number;
  /** Validate the request against the candidate's schema. Default true, as the live evaluation. */
  validateRequest?: boolean;
}

/**
 * Holds an optional candidate set and evaluates it on the exact Cedar request the live set got.
 * Counts every flip in `argus_shadow_flips_total{from,to}`.
 * INVARIANT: the candidate never changes a decision; `evaluate` only returns the difference.
 */
export class ShadowEvaluator {
  private current: { set: CompiledPolicySet; since: string } | undefined;
  private evaluations = 0;
  private flipCounts: Record<string, number> = {};
  private recent: Array<ShadowFlip & { at: string }> = [];
  private readonly clock: () => Date;
  private readonly flips: Counter;
  private readonly runs: Counter;

  constructor(private readonly deps: ShadowDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.flips = metric(
      deps.metrics,
      'argus_shadow_flips_total',
      () =>
        new Counter({
          name: 'argus_shadow_flips_total',
          help: 'Decisions the shadow candidate set would have made differently, by live and candidate outcome',
          labelNames: ['from', 'to'],
          registers: [deps.metrics],
        }),
    );
    this.runs = metric(
      deps.metrics,
      'argus_shadow_evaluations_total',
      () =>
        new Counter({
          name: 'argus_shadow_evaluations_total',
          help: 'Requests evaluated by the shadow candidate set',
          registers: [deps.metrics],
        }),
    );
  }

  /** The candidate set, if one is loaded. */
  get candidate(): CompiledPolicySet | undefined {
    return this.current?.set;
  }

  /** Compiles and installs a candidate; a set that does not compile is refused and the old candidate stays. Resets the counts. */
  setCandidate(input: PolicySetInput): CandidateResult {
    const compiled = compilePolicySet(input);
    if (!compiled.ok) return { ok: false, diagnostics: compiled.diagnostics };
    this.current = { set: compiled.policySet, since: this.clock().toISOString() };
    this.reset();
    return { ok: true, version: compiled.policySet.version, policies: compiled.policySet.policies.size };
  }

  /** Removes the candidate. */
  clear(): void {
    this.current = undefined;
    this.reset();
  }

  /**
   * Evaluates the candidate on the request the live set decided, and compares. Returns the flip
   * for the audit record, or undefined when the outcomes agree (or no candidate is loaded).
   */
  evaluate(request: EvaluationRequest, live: DecisionSummary): ShadowFlip | undefined {
    const current = this.current;
    if (!current) return undefined;
    const answer = evaluateOnCandidate(current.set, request, { now: this.clock(), validateRequest: this.deps.validateRequest ?? true });
    this.evaluations++;
    this.runs.inc();
    const candidate = summarize(answer);
    const change = compareDecisions(live, candidate);
    if (!change.flipped) return undefined;
    this.flips.inc({ from: change.from, to: change.to });
    const key = `${change.from}→${change.to}`;
    this.flipCounts[key] = (this.flipCounts[key] ?? 0) + 1;
    const flip: ShadowFlip = {
      candidateVersion: current.set.version,
      from: change.from,
      to: change.to,
      livePolicies: [...live.policies],
      candidatePolicies: [...candidate.policies],
    };
    this.recent.push({ ...flip, at: this.clock().toISOString() });
    if (this.recent.length > (this.deps.recentLimit ?? 50)) this.recent.shift();
    return flip;
  }

  /** The candidate and its counts since it was installed. */
  status(): ShadowStatus {
    const c = this.current;
    return {
      active: c !== undefined,
      ...(c ? { version: c.set.version, since: c.since, policies: c.set.policies.size } : {}),
      evaluations: this.evaluations,
      flips: { ...this.flipCounts },
      recent: [...this.recent],
    };
  }

  private reset(): void {
    this.evaluations = 0;
    this.flipCounts = {};
    this.recent = [];
  }
}
