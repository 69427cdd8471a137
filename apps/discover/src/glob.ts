/** Case-insensitive glob matching for heuristics: `*` matches any run of characters, nothing else is special. */

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
