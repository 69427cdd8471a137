/**
 * The checks that refuse a decision request before anything else is done with it: ids and strings
 * Argus cannot decide on (empty or padded ids, control characters, ill-formed UTF-16).
 */
import { idProblem, illFormedUtf16 as illFormed, type AuthorizeInput, type DenyCode, type EntityData } from '@argus/contracts';
import { InvalidInputError, type ErrorDetail } from '@argus/platform';

/** A 400 with a stable refusal code (`invalid_id`, `unknown_action`, ...), recorded as a deny carrying it. */
export class RequestRefusedError extends InvalidInputError {
  constructor(
    readonly reason: Extract<
      DenyCode,
      'invalid_id' | 'invalid_string' | 'invalid_value' | 'unknown_action' | 'unknown_entity_type' | 'reserved_context_key'
    >,
    message: string,
    errors: readonly ErrorDetail[] = [],
  ) {
    super(message, errors);
  }
}

// A lone surrogate: a high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 and C1 control characters, DEL included.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

/** Why `id` is not an acceptable identifier, or undefined when it is (the rule lives in `@argus/contracts`). */
export { idProblem };

/**
 * Checks every id of a request (principal, resource, delegation hops, goal, approval, entities and
 * their parents) and every other string in it (well-formed UTF-16 only). Throws
 * `RequestRefusedError('invalid_id')` naming the first offending path.
 */
export function checkInputStrings(input: AuthorizeInput, shared: readonly EntityData[] = []): void {
  // On the hot path: paths are built only for a refusal.
  checkId(input.principal?.id, () => '/input/principal/id');
  checkId(input.resource?.id, () => '/input/resource/id');
  input.delegation?.forEach((h, i) => checkId(h.id, () => `/input/delegation/${i}/id`));
  checkId(input.goal, () => '/input/goal');
  checkId(input.approval, () => '/input/approval');
  checkEntityIds(shared, '/entities');
  if (input.entities) checkEntityIds(input.entities, '/input/entities');
  const bad = illFormedString(input, '/input') ?? (shared.length > 0 ? illFormedString(shared, '/entities') : undefined);
  if (bad) {
    const message = `invalid string at \`${bad}\`: not well-formed UTF-16 (a lone surrogate)`;
    throw new RequestRefusedError('invalid_string', message, [{ path: bad, message: 'not well-formed UTF-16' }]);
  }
}

function checkId(id: unknown, path: () => string): void {
  if (typeof id !== 'string') return;
  const problem = idProblem(id);
  if (!problem) return;
  const at = path();
  throw new RequestRefusedError('invalid_id', `invalid id at \`${at}\`: ${problem}`, [{ path: at, message: `id ${problem}` }]);
}

function checkEntityIds(entities: readonly EntityData[], base: string): void {
  entities.forEach((e, i) => {
    checkId(e.uid?.id, () => `${base}/${i}/uid/id`);
    e.parents?.forEach((p, j) => checkId(p.id, () => `${base}/${i}/parents/${j}/id`));
  });
}

/**
 * The JSON Pointer of the first string (value or key) holding a lone surrogate, if any.
 * On the hot path: no path string is built unless one is found.
 */
function illFormedString(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return illFormed(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if ((typeof v === 'string' && illFormed(v)) || (v !== null && typeof v === 'object' && illFormedString(v, '') !== undefined)) {
        return illFormedString(v, `${path}/${i}`);
      }
    }
    return undefined;
  }
  for (const k in value as Record<string, unknown>) {
    const v = (value as Record<string, unknown>)[k];
    if (illFormed(k)) return `${path}/${pointerEscape(k)}`;
    if ((typeof v === 'string' && illFormed(v)) || (v !== null && typeof v === 'object' && illFormedString(v, '') !== undefined)) {
      return illFormedString(v, `${path}/${pointerEscape(k)}`);
    }
  }
  return undefined;
}

function pointerEscape(key: string): string {
  return key
    .replace(/~/g, '~0')
    .replace(/\//g, '~1')
    .replace(new RegExp(LONE_SURROGATE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A string safe to store: lone surrogates and control characters written as `\uXXXX`. */
function storable(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? '' : (JSON.stringify(value) ?? '');
  const unsafe = new RegExp(`${LONE_SURROGATE.source}|${CONTROL.source}`, 'g');
  const escaped = value.replace(unsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.slice(0, 512);
}

/**
 * What the audit record of a refused request holds: principal, action and resource (ids escaped
 * so the record stays well-formed), never the rest of a body Argus did not accept.
 */
export function recordableInput(raw: unknown): AuthorizeInput {
  const r = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const ref = (v: unknown) => {
    const o = (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>;
    return { type: storable(o.type), id: storable(o.id) };
  };
  return { principal: ref(r.principal), action: storable(r.action), resource: ref(r.resource) };
}
