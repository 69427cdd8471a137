import { compilePolicySet, type CompiledPolicySet, type Diagnostic, type PolicySetInput } from '@argus/engine';

/** Where the active set came from. */
export type PolicySource = 'directory' | 'api' | 'store';

/** The active policy set and its provenance. */
export interface ActivePolicySet {
  set: CompiledPolicySet;
  source: PolicySource;
  loadedAt: string;
}

/** The answer of a replace: the new active set, or the diagnostics that refused it (the old set stays). */
export type ReplaceResult = { ok: true; active: ActivePolicySet; changed: boolean } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Holds the one active policy set of a process. A replacement is compiled and validated first and
 * swapped in atomically; a bad set never replaces a good one.
 * INVARIANT: `compilePolicySet` is synchronous, so concurrent replacements are serialised by the
 * event loop and every reader sees one whole set.
 */
export class PolicyHolder {
  private active: ActivePolicySet | undefined;
  private lastError: { at: string; diagnostics: Diagnostic[] } | undefined;
  private readonly listeners = new Set<(active: ActivePolicySet) => void>();

  constructor(private readonly clock: () => Date = () => new Date()) {}

  /** The active set; undefined only before the first successful load. */
  get current(): ActivePolicySet | undefined {
    return this.active;
  }

  /** The diagnostics of the last refused replacement, until a replacement succeeds. */
  get failure(): { at: string; diagnostics: Diagnostic[] } | undefined {
    return this.lastError;
  }

  /** Validates `input` and makes it active if it compiles. */
  replace(input: PolicySetInput, source: PolicySource): ReplaceResult {
    const compiled = compilePolicySet(input);
    const at = this.clock().toISOString();
    if (!compiled.ok) {
      this.lastError = { at, diagnostics: compiled.diagnostics };
      return { ok: false, diagnostics: compiled.diagnostics };
    }
    this.lastError = undefined;
    const changed = this.active?.set.version !== compiled.policySet.version;
    if (changed || !this.active) {
      this.active = { set: compiled.policySet, source, loadedAt: at };
      for (const l of this.listeners) l(this.active);
    }
    return { ok: true, active: this.active, changed };
  }

  /** Calls `listener` after every successful change of the active set. */
  onChange(listener: (active: ActivePolicySet) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
