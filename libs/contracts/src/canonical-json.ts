/**
 * Canonical JSON: object keys sorted, `undefined` members left out, no whitespace. Two equal values
 * always serialize to the same bytes, which is what the audit hash chain and the MCP tool hashes
 * rely on. `omitTopLevelKey` leaves one member of the outermost object out (the record's own
 * `hash`) without copying it.
 *
 * For JSON values this is RFC 8785 (JCS) byte for byte: `canonical-json.test.ts` checks it against
 * the `canonicalize` package on arbitrary values and on audit records. It stays hand-written
 * because it runs on every decision's audit record (measured 2026-12, Node 20, 1,000 sample
 * records of ~720 bytes: 33-37 µs per record here, 71-74 µs with `canonicalize` and the copy it
 * needs to leave `hash` out, 2.1x), and because it never throws: `canonicalize` throws on a lone
 * surrogate or a non-finite number, where the trail must still record the decision.
 */
export function canonicalJson(value: unknown, omitTopLevelKey?: string): string {
  // A value whose objects already hold their keys in canonical order is what `JSON.stringify`
  // writes byte for byte (the audit record builder writes records that way): checking the order
  // costs less than building the text piece by piece (see `inCanonicalOrder`).
  if (typeof value === 'object' && value !== null && inCanonicalOrder(value, omitTopLevelKey, 0)) return JSON.stringify(value);
  return canonicalText(value, omitTopLevelKey);
}

/** How deep {@link inCanonicalOrder} looks before leaving a value to the general path. */
const MAX_CHECKED_DEPTH = 32;

/**
 * Whether `JSON.stringify(value)` writes the canonical text of `value`: only plain objects (their
 * prototype `Object.prototype` or `null`) and arrays, every object's keys in UTF-16 order as
 * `JSON.stringify` lists them (integer-like keys first, then insertion order), no member named
 * `omit` at the top, and only strings, finite or non-finite numbers, booleans, `null` and
 * `undefined` as leaves (where the two agree: an `undefined` member is left out, an `undefined`
 * item is `null`). Anything else — a function (`toJSON`), a symbol, a bigint, a `Date` or other
 * class instance — takes the general path. Allocates nothing.
 */
function inCanonicalOrder(value: object, omit: string | undefined, depth: number): boolean {
  if (depth > MAX_CHECKED_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!leafOrOrdered(value[i], depth)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let prev: string | undefined;
  for (const k in value) {
    if (k === omit || (prev !== undefined && !(prev < k))) return false;
    prev = k;
    if (!leafOrOrdered((value as Record<string, unknown>)[k], depth)) return false;
  }
  return true;
}

function leafOrOrdered(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    case 'object':
      return v === null || inCanonicalOrder(v, undefined, depth + 1);
    default:
      return false;
  }
}

/**
 * The canonical text built piece by piece, keys sorted here: what {@link canonicalJson} answers for
 * any value (exported for the tests that compare the two).
 */
export function canonicalText(value: unknown, omitTopLevelKey?: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const v: unknown = value[i];
          out += v === undefined || typeof v === 'function' ? 'null' : canonicalText(v);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      const keys = sortedKeys(obj);
      let out = '{';
      let first = true;
      for (const k of keys) {
        if (k === omitTopLevelKey) continue;
        const v = obj[k];
        if (v === undefined || typeof v === 'function') continue;
        if (!first) out += ',';
        first = false;
        out += quotedKey(k) + canonicalText(v);
      }
      return out + '}';
    }
    default:
      return 'null';
  }
}

/** Longest key list sorted in place by insertion; longer ones go to `Array.prototype.sort`. */
const INSERTION_SORT_MAX = 32;

/**
 * The object's own enumerable keys in UTF-16 code unit order (as `sort()` orders strings). Short
 * lists (every object of an audit record) are sorted in place: `Array.prototype.sort` copies its
 * elements into a work array on every call, and with it chaining an audit record allocated 14.9 KiB
 * against 7.4 now (bench/audit/chain.ts), the audit thread's largest source of garbage. Keys already
 * in order cost one comparison each.
 */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (keys[j]! < k) continue;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

// Record keys repeat from record to record: quote each once (bounded, so hostile keys cannot grow it).
const QUOTED = new Map<string, string>();
function quotedKey(k: string): string {
  let q = QUOTED.get(k);
  if (q === undefined) {
    q = JSON.stringify(k) + ':';
    if (QUOTED.size < 4_096) QUOTED.set(k, q);
  }
  return q;
}
