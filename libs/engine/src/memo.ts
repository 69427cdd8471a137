import { LRUCache } from 'lru-cache';
import type { CompiledPolicySet } from './policy-set.ts';
import type { EngineDecision, EvaluationRequest } from './types.ts';

/** Hit and miss counters of a {@link DecisionMemo}. */
export interface DecisionMemoStats {
  hits: number;
  misses: number;
  /** Requests not memoised: too large a key, or a set that reads `now`. */
  skipped: number;
  size: number;
}

/**
 * A bounded LRU of engine answers keyed by the exact Cedar input: the policy set's version, the
 * validation mode, and the principal, action, resource, context and entity slice as given to
 * Cedar. Cedar is a pure function of that input, so a hit is the answer Cedar would give; every
 * fact that can change (registry records, leases, grants, budgets, counters) is read for each
 * request and is part of the key, so a memoised answer is never stale.
 *
 * Sets that read `now` are not memoised (the key would differ on every call).
 */
export class DecisionMemo {
  /** Undefined when the memo is disabled (`maxEntries` 0). */
  private readonly entries: LRUCache<string, EngineDecision> | undefined;
  private readonly counters = { hits: 0, misses: 0, skipped: 0 };

  /**
   * @param maxEntries bound on memoised answers (0 disables the memo).
   * @param maxKeyChars requests whose serialized input is longer are not memoised.
   */
  constructor(
    maxEntries: number,
    private readonly maxKeyChars = 4_096,
  ) {
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : undefined;
  }

  /** The answer for this input, computed by `compute` on a miss. */
  answer(set: CompiledPolicySet, request: EvaluationRequest, validateRequest: boolean, compute: () => EngineDecision): EngineDecision {
    if (!this.entries || set.mentionsNow) {
      this.counters.skipped++;
      return compute();
    }
    const input = JSON.stringify([request.principal, request.action, request.resource, request.context, request.entities]);
    if (input.length > this.maxKeyChars) {
      this.counters.skipped++;
      return compute();
    }
    const key = `${set.version}\u0000${validateRequest ? 1 : 0}\u0000${input}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.counters.hits++;
      return hit;
    }
    this.counters.misses++;
    const decision = freezeAnswer(compute());
    this.entries.set(key, decision);
    return decision;
  }

  stats(): DecisionMemoStats {
    return { ...this.counters, size: this.entries?.size ?? 0 };
  }
}

/**
 * A memoised answer is shared between requests: nothing may change it. The answer and its lists
 * are frozen; the policies it names belong to the (immutable) set and are left as they are.
 */
function freezeAnswer(decision: EngineDecision): EngineDecision {
  for (const e of decision.errors) Object.freeze(e);
  Object.freeze(decision.errors);
  Object.freeze(decision.determining);
  Object.freeze(decision.observed);
  return Object.freeze(decision);
}
