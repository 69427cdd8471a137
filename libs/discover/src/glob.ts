/**
 * Case-insensitive glob matching for heuristics: `*` matches any run of characters, nothing else is
 * special (the contract `schemas/discovery/heuristics.schema.json` states).
 *
 * Kept instead of `picomatch` (measured 2026-12 with picomatch 4.0.7, every syntax character but
 * `*` escaped, `{nocase, dot, bash, nobrace, noextglob, nonegate}`): picomatch reads path globs, so
 * on 20,000 pattern-derived pairs over image/label/env-name characters it refused 66 (0.33 %) that
 * the contract matches — `*` never matches the empty string (a label `value: "*"` would stop
 * matching an empty value), nor across a `/.` or `..` segment, nor a newline — and it throws on
 * an empty pattern. `glob.test.ts` pins those cases.
 */

const cache = new Map<string, RegExp>();

/** True when `text` matches the glob `pattern` (whole string, case-insensitive). */
export function globMatch(pattern: string, text: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 'is');
    cache.set(pattern, re);
  }
  return re.test(text);
}
