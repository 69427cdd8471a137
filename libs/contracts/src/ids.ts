/**
 * What makes a string an identifier Argus decides on: the one rule for every id of a decision
 * (principal, resource, hops, entities), and for the ids the proxy reads from a call (a model, a
 * tool, a resource URI, a prompt) before it asks for a decision.
 */

// C0 and C1 control characters, DEL included.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` holds a lone surrogate (ES2024 `isWellFormed`, native in Node 20; the regex where it is missing). */
export function illFormedUtf16(s: string): boolean {
  const native = (s as string & { isWellFormed?: () => boolean }).isWellFormed;
  return native ? !native.call(s) : SURROGATE.test(s) && LONE_SURROGATE.test(s);
}

/** Why `id` is not an acceptable identifier, or undefined when it is. */
export function idProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (illFormedUtf16(id)) return 'is not well-formed UTF-16 (a lone surrogate)';
  if (CONTROL.test(id)) return 'must not contain control characters';
  if (id.trim() !== id) return 'must not begin or end with whitespace';
  return undefined;
}
