import type { PolicyInfo } from './types.ts';

/** Obligations an enforcement point must apply with an allow. */
export interface Obligations {
  /** Field names to redact from results (union over the determining permits). */
  redact?: string[];
  /** The most items a result may carry (the smallest over the determining permits). */
  max_items?: number;
  /** Any other `@obligation_<name>("value")`, every value kept. */
  [name: string]: string[] | number | undefined;
}

/**
 * Merges the `@obligation_*` annotations of the determining permits to the strictest:
 * redactions are united, `max_items` takes the smallest, other obligations keep every value.
 */
export function mergeObligations(determining: readonly PolicyInfo[]): Obligations {
  const out: Obligations = {};
  for (const p of determining) {
    if (p.effect !== 'permit') continue;
    for (const [key, value] of Object.entries(p.annotations)) {
      if (!key.startsWith('obligation_')) continue;
      const name = key.slice('obligation_'.length);
      if (name === 'redact') {
        const fields = value.split(',').map((f) => f.trim()).filter(Boolean);
        out.redact = [...new Set([...(out.redact ?? []), ...fields])].sort();
      } else if (name === 'max_items') {
        const n = Number(value);
        out.max_items = out.max_items === undefined ? n : Math.min(out.max_items, n);
      } else {
        const prev = out[name];
        out[name] = [...new Set([...(Array.isArray(prev) ? prev : []), value])].sort();
      }
    }
  }
  return out;
}
