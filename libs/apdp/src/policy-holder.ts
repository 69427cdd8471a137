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

  /**
   * Validates `input` and makes it active if it compiles. A file of the active set that would lose
   * every policy at once (truncated by a crashed editor or a failed copy, say) refuses the whole
   * set unless `force` is given: removing a file, or forcing, is how policies are retired on purpose.
   */
  replace(input: PolicySetInput, source: PolicySource, options: { force?: boolean } = {}): ReplaceResult {
    const compiled = compilePolicySet(input);
    const at = this.clock().toISOString();
    const diagnostics = compiled.ok
      ? options.force
        ? []
        : emptiedFiles(this.active?.set, compiled.policySet, input)
      : compiled.diagnostics;
    if (!compiled.ok || diagnostics.length > 0) {
      this.lastError = { at, diagnostics };
      return { ok: false, diagnostics };
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

/** Files present in both sets that held policies in `before` and hold none in `after`, as errors. */
function emptiedFiles(before: CompiledPolicySet | undefined, after: CompiledPolicySet, input: PolicySetInput): Diagnostic[] {
  if (!before) return [];
  const count = (set: CompiledPolicySet) => {
    const perFile = new Map<string, number>();
    for (const p of set.policies.values()) if (!p.annotations.template) perFile.set(p.file, (perFile.get(p.file) ?? 0) + 1);
    return perFile;
  };
  const had = count(before);
  const has = count(after);
  const out: Diagnostic[] = [];
  for (const { file } of input.policies) {
    const n = had.get(file) ?? 0;
    if (n === 0 || (has.get(file) ?? 0) > 0) continue;
    out.push({
      severity: 'error',
      file,
      line: 1,
      column: 1,
      endLine: 1,
      endColumn: 1,
      message: `\`${file}\` would lose all its ${n} ${n === 1 ? 'policy' : 'policies'} at once; refused (delete the file to retire them, or publish with force)`,
    });
  }
  return out;
}
