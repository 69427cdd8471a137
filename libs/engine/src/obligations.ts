import { EFFECT_APPLIES_TO, type PolicyEffect, type PolicyInfo } from './types.ts';

/** Obligations an enforcement point must apply with an allow. */
export interface Obligations {
  /** Field names to redact from results (union over the determining permits). */
  redact?: string[];
  /** The most items a result may carry (the smallest over the determining permits). */
  max_items?: number;
  /** Whether values may be logged (AND over the determining permits: one `false` wins). */
  log_values?: boolean;
  /** A custom `@obligation_x_<name>("value")`, as `x_<name>`: every distinct value, verbatim. */
  [name: string]: string[] | number | boolean | undefined;
}

/** The type of an annotation's value, and how values from several permits merge. */
export interface AnnotationSpec {
  /** What the value must be. */
  type: 'effect' | 'field-list' | 'positive-integer' | 'boolean' | 'string';
  /** How values from several determining permits combine (obligations only). */
  merge?: 'union' | 'min' | 'and' | 'distinct';
  /** What it means, for diagnostics and docs. */
  doc: string;
}

/**
 * Every annotation Argus gives meaning to. Names in Argus's namespaces (`effect`, `obligation_*`)
 * that are not here are refused at load, and so is any name within edit distance 2 of one of these
 * (a typo such as `@efect` must never load as a plain allow). Custom obligations are named
 * `@obligation_x_<name>`: passed to the enforcement point verbatim.
 */
export const ARGUS_ANNOTATIONS: Readonly<Record<string, AnnotationSpec>> = {
  effect: { type: 'effect', doc: `one of ${Object.keys(EFFECT_APPLIES_TO).join(', ')}` },
  obligation_redact: { type: 'field-list', merge: 'union', doc: 'comma-separated field names, dotted paths or JSON pointers to redact' },
  obligation_max_items: { type: 'positive-integer', merge: 'min', doc: 'the most items a result may carry' },
  obligation_log_values: { type: 'boolean', merge: 'and', doc: '`true` or `false`: whether values may be logged' },
};

/** Annotations with a meaning outside Argus's namespaces: never flagged as typos. */
const PLAIN_ANNOTATIONS = new Set(['id', 'reason', 'template', 'owner', 'description', 'title', 'severity']);

const CUSTOM_OBLIGATION = /^obligation_x_[a-z][a-z0-9_]{0,62}$/;
/** One redact item: a field name (or dotted path, `*` for any key), or a JSON pointer (RFC 6901: `/a/b`, `~0` and `~1` escapes). */
const REDACT_ITEM = String.raw`(?:[\w.$*-]+|(?:/(?:[^,/~\s]|~[01])+)+)`;
const FIELD_LIST = new RegExp(String.raw`^\s*${REDACT_ITEM}(\s*,\s*${REDACT_ITEM})*\s*$`);

/** A problem found in a policy's annotations: errors refuse the set, warnings are reported. */
export interface AnnotationProblem {
  severity: 'error' | 'warning';
  /** The annotation the problem is about. */
  name: string;
  message: string;
}

/**
 * Type-checks the annotations of one policy against {@link ARGUS_ANNOTATIONS}: unknown names in
 * Argus's namespaces and near-misses of known names, malformed values, effects and obligations on
 * the wrong kind of policy are errors; custom obligations and no-op values are warnings.
 */
export function checkPolicyAnnotations(
  annotations: Readonly<Record<string, string | null | undefined>>,
  effect: 'permit' | 'forbid',
): AnnotationProblem[] {
  const out: AnnotationProblem[] = [];
  const error = (name: string, message: string) => out.push({ severity: 'error', name, message });
  const warn = (name: string, message: string) => out.push({ severity: 'warning', name, message });
  for (const [name, raw] of Object.entries(annotations)) {
    const spec = ARGUS_ANNOTATIONS[name];
    const value = raw ?? undefined;
    if (!spec) {
      if (CUSTOM_OBLIGATION.test(name)) {
        if (effect !== 'permit') error(name, `obligations (\`@${name}\`) go on permit policies`);
        else if (value === undefined) error(name, `\`@${name}\` needs a value`);
        else warn(name, `custom obligation \`@${name}\` is passed to the enforcement point verbatim; Argus does not apply it`);
        continue;
      }
      if (PLAIN_ANNOTATIONS.has(name)) continue;
      const near = nearest(name);
      if (name.startsWith('obligation_') || name === 'obligation') {
        const hint = near ? `; did you mean \`@${near}\`?` : '';
        const known = `known: ${knownObligations()}; custom ones are named \`@obligation_x_<name>\``;
        error(name, `unknown obligation \`@${name}\`${hint} (${known})`);
      } else if (near) {
        error(name, `unknown annotation \`@${name}\`; did you mean \`@${near}\`?`);
      }
      continue;
    }
    if (value === undefined) {
      error(name, `\`@${name}\` needs a value (${spec.doc})`);
      continue;
    }
    if (spec.type === 'effect') {
      const appliesTo = EFFECT_APPLIES_TO[value as PolicyEffect];
      if (!appliesTo) error(name, `unknown effect \`${value}\`; expected one of ${Object.keys(EFFECT_APPLIES_TO).join(', ')}`);
      else if (appliesTo !== effect) error(name, `effect \`${value}\` applies to ${appliesTo} policies, not ${effect}`);
      continue;
    }
    if (effect !== 'permit') {
      error(name, `obligations (\`@${name}\`) go on permit policies`);
      continue;
    }
    if (spec.type === 'positive-integer' && !/^[1-9]\d{0,8}$/.test(value)) {
      error(name, `\`@${name}\` must be a positive whole number, got \`${value}\``);
    }
    if (spec.type === 'field-list' && !FIELD_LIST.test(value)) {
      error(name, `\`@${name}\` must be a comma-separated list of field names or JSON pointers, got \`${value}\``);
    }
    if (spec.type === 'boolean') {
      if (value !== 'true' && value !== 'false') error(name, `\`@${name}\` must be \`true\` or \`false\`, got \`${value}\``);
      else if (value === 'true') warn(name, `\`@${name}("true")\` has no effect: values are logged unless a permit says \`false\``);
    }
  }
  return out;
}

function knownObligations(): string {
  return Object.keys(ARGUS_ANNOTATIONS)
    .filter((k) => k.startsWith('obligation_'))
    .map((k) => `\`@${k}\``)
    .join(', ');
}

/** The known Argus annotation within edit distance 2 of `name` (closest first), if any. */
function nearest(name: string): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const known of Object.keys(ARGUS_ANNOTATIONS)) {
    const d = editDistance(name.toLowerCase(), known, 2);
    if (d <= 2 && (!best || d < best.d)) best = { name: known, d };
  }
  return best?.name;
}

/** Levenshtein distance, cut off above `max` (answers `max + 1` then). */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Merges the `@obligation_*` annotations of the determining permits to the strictest, each by its
 * rule: `redact` = union of fields, `max_items` = minimum, `log_values` = AND (one `false` wins),
 * custom `obligation_x_*` = every distinct value verbatim. Values were type-checked at load.
 */
export function mergeObligations(determining: readonly PolicyInfo[]): Obligations {
  const out: Obligations = {};
  for (const p of determining) {
    if (p.effect !== 'permit') continue;
    for (const [key, value] of Object.entries(p.annotations)) {
      if (!key.startsWith('obligation_') || typeof value !== 'string') continue;
      const name = key.slice('obligation_'.length);
      const merge = ARGUS_ANNOTATIONS[key]?.merge ?? (CUSTOM_OBLIGATION.test(key) ? 'distinct' : undefined);
      if (merge === 'union') {
        const fields = value
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
        out[name] = [...new Set([...((out[name] as string[] | undefined) ?? []), ...fields])].sort();
      } else if (merge === 'min') {
        const n = Number(value);
        const prev = out[name] as number | undefined;
        out[name] = prev === undefined ? n : Math.min(prev, n);
      } else if (merge === 'and') {
        const prev = out[name] as boolean | undefined;
        out[name] = (prev ?? true) && value === 'true';
      } else if (merge === 'distinct') {
        const prev = out[name];
        out[name] = [...new Set([...(Array.isArray(prev) ? prev : []), value])].sort();
      }
    }
  }
  return out;
}
