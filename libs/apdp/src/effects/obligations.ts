/**
 * Obligations an enforcement point applies to what it returns with an allow (`result.obligations`,
 * merged to the strictest by the engine): redact fields, cap list sizes. What cannot be applied to
 * a given body is reported, so the caller can refuse rather than leak.
 */

/** The value a redacted field is replaced with. */
export const REDACTED = '[REDACTED]';

/** Obligations this module knows how to apply. */
export const SUPPORTED_OBLIGATIONS: readonly string[] = ['redact', 'max_items'];

/** Options of {@link applyObligations}. */
export interface ApplyObligationsOptions {
  /** Nesting past this depth cannot be walked: `redact` and `max_items` are then reported unsupported. Default 256. */
  maxDepth?: number;
}

/** What {@link applyObligations} did. */
export interface AppliedObligations<T = unknown> {
  /** The body with the obligations applied (a copy; the input is never changed). */
  body: T;
  /** Obligations carried out (sorted). */
  applied: string[];
  /** Obligations that could not be carried out on this body (unknown names, malformed values, text bodies, too deep), sorted. */
  unsupported: string[];
  /** How many fields were redacted and arrays truncated. */
  counts: { redacted: number; truncated: number };
}

/**
 * Applies `obligations` to a parsed JSON body:
 * - `redact: string[]` replaces, at any depth, the value of every property whose name matches
 *   (case-insensitively) with {@link REDACTED};
 * - `max_items: number` truncates every array, at any depth, to at most that many items.
 *
 * A string or binary body cannot be walked by field, so both are reported unsupported for it
 * (the caller decides: refuse, or pass through knowingly). Unknown obligations and malformed
 * values are reported unsupported too, never silently ignored.
 */
export function applyObligations<T = unknown>(
  body: T,
  obligations: Record<string, unknown> | undefined,
  options: ApplyObligationsOptions = {},
): AppliedObligations<T> {
  const applied: string[] = [];
  const unsupported: string[] = [];
  const counts = { redacted: 0, truncated: 0 };
  const names = Object.keys(obligations ?? {}).filter((k) => obligations?.[k] !== undefined);
  if (names.length === 0) return { body, applied, unsupported, counts };

  let redact: Set<string> | undefined;
  let maxItems: number | undefined;
  for (const name of names) {
    const value = obligations![name];
    if (name === 'redact' && Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== ''))
      redact = new Set(value.map((v: string) => v.toLowerCase()));
    else if (name === 'max_items' && typeof value === 'number' && Number.isInteger(value) && value >= 0) maxItems = value;
    else unsupported.push(name);
  }
  const walkable =
    body === null || typeof body !== 'object' ? typeof body !== 'string' : !ArrayBuffer.isView(body) && !(body instanceof ArrayBuffer);
  const maxDepth = options.maxDepth ?? 256;
  let tooDeep = false;

  const walk = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (depth > maxDepth) {
      tooDeep = true;
      return value;
    }
    if (Array.isArray(value)) {
      let items = value;
      if (maxItems !== undefined && items.length > maxItems) {
        items = items.slice(0, maxItems);
        counts.truncated++;
      }
      return items.map((v) => walk(v, depth + 1));
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (redact?.has(k.toLowerCase())) {
        out[k] = REDACTED;
        counts.redacted++;
      } else {
        out[k] = walk(v, depth + 1);
      }
    }
    return out;
  };

  const active = [...(redact ? ['redact'] : []), ...(maxItems !== undefined ? ['max_items'] : [])];
  if (active.length === 0) return { body, applied, unsupported: unsupported.sort(), counts };
  if (!walkable) return { body, applied, unsupported: [...unsupported, ...active].sort(), counts };
  const result = walk(body, 0) as T;
  if (tooDeep) return { body, applied: [], unsupported: [...unsupported, ...active].sort(), counts: { redacted: 0, truncated: 0 } };
  return { body: result, applied: active.sort(), unsupported: unsupported.sort(), counts };
}
