/**
 * Paths into a decision document, written either as JSON Pointers (`/input/context/ssn`) or
 * OPA-style dotted paths (`input.context.ssn`). A `*` segment matches every member of an object or
 * array (`/input/delegation/*\/id`).
 */

/** A parsed path: its segments and its canonical JSON Pointer spelling. */
export interface DocPath {
  segments: string[];
  pointer: string;
}

/** Parses a JSON Pointer or dotted path; returns undefined for an empty or malformed one. */
export function parsePath(path: string): DocPath | undefined {
  const text = path.trim();
  if (text === '' || text === '/') return undefined;
  let segments: string[];
  if (text.startsWith('/')) {
    segments = text
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  } else {
    segments = text.split('.');
  }
  if (segments.some((s) => s === '')) return undefined;
  return { segments, pointer: toPointer(segments) };
}

/** Joins segments into a JSON Pointer (RFC 6901 escaping). */
export function toPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return v !== null && typeof v === 'object';
}

function childKeys(v: Record<string, unknown> | unknown[]): string[] {
  return Array.isArray(v) ? v.map((_, i) => String(i)) : Object.keys(v);
}

function child(v: Record<string, unknown> | unknown[], key: string): unknown {
  if (Array.isArray(v)) {
    if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
    return v[Number(key)];
  }
  return Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
}

/** One concrete location matched by a path: its parent container, key and full segments. */
export interface Match {
  parent: Record<string, unknown> | unknown[];
  key: string;
  segments: string[];
}

/** Every existing location in `doc` matched by `segments` (wildcards expanded). */
export function matchAll(doc: unknown, segments: readonly string[]): Match[] {
  const out: Match[] = [];
  const walk = (node: unknown, i: number, trail: string[]) => {
    if (!isContainer(node)) return;
    const seg = segments[i]!;
    const keys = seg === '*' ? childKeys(node) : [seg];
    for (const key of keys) {
      const value = child(node, key);
      if (value === undefined) continue;
      const here = [...trail, key];
      if (i === segments.length - 1) out.push({ parent: node, key, segments: here });
      else walk(value, i + 1, here);
    }
  };
  if (segments.length > 0) walk(doc, 0, []);
  return out;
}

/** Reads the value at a concrete (wildcard-free) path, or undefined. */
export function getAt(doc: unknown, segments: readonly string[]): unknown {
  let node: unknown = doc;
  for (const seg of segments) {
    if (!isContainer(node)) return undefined;
    node = child(node, seg);
  }
  return node;
}

/** Writes `value` at a concrete path, creating plain objects on the way. */
export function setAt(doc: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = doc;
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i]!;
    const existing = child(node, seg);
    let next: Record<string, unknown> | unknown[];
    if (isContainer(existing)) {
      next = existing;
    } else {
      next = {};
      assign(node, seg, next);
    }
    node = next;
  }
  assign(node, segments[segments.length - 1]!, value);
}

function assign(node: Record<string, unknown> | unknown[], key: string, value: unknown): void {
  if (Array.isArray(node)) node[Number(key)] = value;
  else node[key] = value;
}

/** Removes a matched location (array elements are replaced by null so indexes keep their meaning). */
export function removeMatch(m: Match): void {
  if (Array.isArray(m.parent)) m.parent[Number(m.key)] = null;
  else delete m.parent[m.key];
}

/** Replaces a matched location's value. */
export function replaceMatch(m: Match, value: unknown): void {
  assign(m.parent, m.key, value);
}
