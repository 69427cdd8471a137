/**
 * Checking the values a caller supplies (attributes, tags, context) before they are decided on.
 * The decision path evaluates without the schema and reads only what the policies can read
 * (`sliceFor`, `contextFor`), so two kinds of bad data would pass unseen where Cedar given the
 * schema refuses the whole request:
 *
 * - a value Cedar cannot read at all (a `null`, a fraction, an integer past 2^53, a malformed
 *   `__entity` or `__extn`, an extension string that does not parse), wherever it is;
 * - a value of another type than the schema declares (`"sensitivity": ["secret"]` for a `String`).
 *   Cedar's `==` across types is simply false, so a forbid that compares it never fires.
 *
 * Both are refused here, naming the value's JSON path. Undeclared attributes and context keys are
 * only checked to be Cedar values; required ones that are missing are left to evaluation (a policy
 * reading one errors, and an erroring forbid denies).
 */
import { cedar } from './cedar-wasm.ts';
import { EXTENSIONS, schemaIndex, type JsonType } from './schema-values.ts';
import { CedarEvalError, parseDatetime, parseDecimal, parseDuration, parseIp, wellFormed } from './compiled/values.ts';

/** A refused value: where (JSON Pointer segments under the checked value) and why. */
export interface ValueIssue {
  /** Segments from the checked value down, innermost last. */
  at: string[];
  message: string;
}

/** Checks one value; `undefined` when it is fine. */
export type ValueCheck = (value: unknown) => ValueIssue | undefined;

/** The schema's declared types of what callers supply, per entity type (qualified) and per action (`uidKey`). */
export interface SchemaTypes {
  /** The check of an entity type's attribute record, if the schema declares the type. */
  attrs(entityType: string): ValueCheck | undefined;
  /** The check of each tag of an entity type, if the schema declares its tags. */
  tags(entityType: string): ValueCheck | undefined;
  /** The check of an action's context record, if the schema declares it. */
  context(action: string): ValueCheck | undefined;
}

const PARSE: Record<string, (s: string) => unknown> = {
  ip: parseIp,
  decimal: parseDecimal,
  datetime: parseDatetime,
  duration: parseDuration,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function issue(message: string): ValueIssue {
  return { at: [], message };
}

/** Where a nested check failed: `segment` prepended to its path. */
function within(segment: string, found: ValueIssue | undefined): ValueIssue | undefined {
  if (found) found.at.unshift(segment);
  return found;
}

/** What a JSON value is, in the words of an error message. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a set';
  if (typeof v === 'object') return '__entity' in v ? 'an entity reference' : '__extn' in v ? 'an extension value' : 'a record';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a Long' : 'a fraction';
  return typeof v === 'string' ? 'a String' : typeof v === 'boolean' ? 'a Bool' : typeof v;
}

/** The issue of an extension constructor's argument, if Cedar certainly refuses it. */
function extensionIssue(fn: unknown, arg: unknown): ValueIssue | undefined {
  const parse = typeof fn === 'string' ? PARSE[fn] : undefined;
  if (typeof fn !== 'string' || !parse) return issue(`\`${String(fn)}\` is not an extension constructor (decimal, ip, datetime, duration)`);
  if (typeof arg !== 'string') return issue(`the argument of \`${fn}\` must be a string`);
  const parsed = parse(arg);
  // The parsers here leave a few strings to Cedar (`1.2.3` for an ip): Cedar itself reads those.
  const valid = parsed === undefined ? cedarParsesExtension(fn, arg) : !(parsed instanceof CedarEvalError);
  return valid ? undefined : issue(`\`${fn}("${arg.slice(0, 80)}")\` is not a valid ${fn} value`);
}

/** Whether cedar-wasm reads `fn(arg)`; a bounded cache, as these strings are rare and repeat. */
function cedarParsesExtension(fn: string, arg: string): boolean {
  const key = `${fn}\u0000${arg}`;
  let valid = parsedByCedar.get(key);
  if (valid === undefined) {
    valid = cedar.checkParseContext({ context: { v: { __extn: { fn, arg } } } } as never).type === 'success';
    if (parsedByCedar.size >= 1024) parsedByCedar.clear();
    parsedByCedar.set(key, valid);
  }
  return valid;
}

const parsedByCedar = new Map<string, boolean>();

/**
 * Whether `value` is a value Cedar reads from JSON: a String (well-formed Unicode), a Long (an
 * integer JavaScript holds exactly), a Bool, a set, a record, `{"__entity": {type, id}}` or
 * `{"__extn": {fn, arg}}` with an argument that parses. Answers the first issue found.
 */
export function cedarValueIssue(value: unknown): ValueIssue | undefined {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'string':
      return wellFormed(value) ? undefined : issue('not a well-formed Unicode string (a lone surrogate)');
    case 'number':
      if (!Number.isInteger(value)) return issue('a fraction: Cedar has only integers (Long)');
      return Number.isSafeInteger(value)
        ? undefined
        : issue('an integer past 2^53, which JSON readers round; send it as a string attribute');
    case 'object': {
      if (value === null) return issue('null is not a Cedar value: leave the attribute out');
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = cedarValueIssue(value[i]);
          if (found) return within(String(i), found);
        }
        return undefined;
      }
      const rec = value as Record<string, unknown>;
      if ('__entity' in rec) return entityRefIssue(rec, true);
      if ('__extn' in rec) {
        const x = rec.__extn;
        if (Object.keys(rec).length !== 1 || !isRecord(x)) return issue('`__extn` must be the only key, holding `{fn, arg}`');
        return within('__extn', extensionIssue(x.fn, x.arg));
      }
      for (const k in rec) {
        if (!Object.hasOwn(rec, k)) continue;
        const found = cedarValueIssue(rec[k]);
        if (found) return within(k, found);
      }
      return undefined;
    }
    default:
      return issue(`${typeof value} is not a Cedar value`);
  }
}

/** `{"__entity": {type, id}}` (or, where the schema declares an entity, `{type, id}`). */
function entityRefIssue(rec: Record<string, unknown>, escaped: boolean): ValueIssue | undefined {
  const uid = escaped ? rec.__entity : rec;
  if (escaped && Object.keys(rec).length !== 1) return issue('`__entity` must be the only key, holding `{type, id}`');
  // Cedar also reads `{"__entity": "Type::\"id\""}`; Argus takes the one documented form.
  if (!isRecord(uid) || typeof uid.type !== 'string' || typeof uid.id !== 'string' || Object.keys(uid).length !== 2) {
    return escaped
      ? within('__entity', issue('an entity reference is `{type, id}`, both strings'))
      : issue('an entity reference is `{type, id}`, both strings');
  }
  return undefined;
}

/**
 * The checks of the declared types, from the schema in Cedar's JSON form with its types resolved
 * (`resolvedSchemaJson`). `qualify` reads a caller's entity type name the way the decision path
 * does (`Tool` → `Argus::Tool`), to compare it with the declared one.
 */
export function schemaTypes(
  resolved: Record<string, unknown> | undefined,
  qualify: (type: string) => string = (t) => t,
): SchemaTypes | undefined {
  if (!resolved) return undefined;
  const { namespaces, qualify: q, common, entityTypes } = schemaIndex(resolved);

  const entityCheck =
    (declared: string): ValueCheck =>
    (v) => {
      if (!isRecord(v)) return issue(`expected an entity of type \`${declared}\`, got ${describe(v)}`);
      const escaped = '__entity' in v;
      const bad = entityRefIssue(v, escaped);
      if (bad) return bad;
      const type = ((escaped ? v.__entity : v) as { type: string }).type;
      // `{"__entity": ...}` is read with the caller's type names (`qualify`); the schema's own
      // `{type, id}` form is read as written, so only the declared name itself fits there.
      if ((escaped ? qualify(type) : type) === declared) return undefined;
      const hint = escaped
        ? ''
        : ' (in the `{type, id}` form the type is read as written: name it in full, or write `{"__entity": {type, id}}`)';
      return issue(`expected an entity of type \`${declared}\`, got one of type \`${type}\`${hint}`);
    };
  const extensionCheck =
    (fn: string): ValueCheck =>
    (v) => {
      if (typeof v === 'string') return extensionIssue(fn, v);
      if (isRecord(v)) {
        const x = '__extn' in v ? v.__extn : v;
        if (isRecord(x) && 'fn' in x && 'arg' in x && Object.keys(x).length === 2 && (!('__extn' in v) || Object.keys(v).length === 1)) {
          if (x.fn !== fn) return issue(`expected a ${fn} value, got \`${String(x.fn)}\``);
          return '__extn' in v ? within('__extn', extensionIssue(x.fn, x.arg)) : extensionIssue(x.fn, x.arg);
        }
      }
      return issue(`expected a ${fn} value, got ${describe(v)}`);
    };
  const primitive = (name: string): ValueCheck | undefined => {
    switch (name) {
      case 'String':
        return (v) => (typeof v === 'string' ? cedarValueIssue(v) : issue(`expected a String, got ${describe(v)}`));
      case 'Long':
        return (v) => (typeof v === 'number' && Number.isInteger(v) ? cedarValueIssue(v) : issue(`expected a Long, got ${describe(v)}`));
      case 'Bool':
      case 'Boolean':
        return (v) => (typeof v === 'boolean' ? undefined : issue(`expected a Bool, got ${describe(v)}`));
      default:
        return undefined;
    }
  };

  const checkOf = (t: JsonType | undefined, depth: number): ValueCheck => {
    if (!t || depth > 64) return cedarValueIssue;
    switch (t.type) {
      case 'Set': {
        const element = checkOf(t.element, depth + 1);
        return (v) => {
          if (!Array.isArray(v)) return issue(`expected a set, got ${describe(v)}`);
          for (let i = 0; i < v.length; i++) {
            const found = element(v[i]);
            if (found) return within(String(i), found);
          }
          return undefined;
        };
      }
      case 'Record': {
        const fields = Object.entries(t.attributes ?? {}).map(([k, a]) => [k, checkOf(a, depth + 1)] as const);
        const declared = new Set(fields.map(([k]) => k));
        return (v) => {
          if (!isRecord(v) || '__entity' in v || '__extn' in v) return issue(`expected a record, got ${describe(v)}`);
          for (const [k, check] of fields) {
            if (!Object.hasOwn(v, k)) continue;
            const found = check(v[k]);
            if (found) return within(k, found);
          }
          for (const k in v) {
            if (!Object.hasOwn(v, k) || declared.has(k)) continue;
            const found = cedarValueIssue(v[k]);
            if (found) return within(k, found);
          }
          return undefined;
        };
      }
      case 'Entity':
        return t.name ? entityCheck(t.name) : cedarValueIssue;
      case 'Extension':
        return t.name && EXTENSIONS[t.name] ? extensionCheck(EXTENSIONS[t.name]!) : cedarValueIssue;
      case 'EntityOrCommon':
        return t.name ? named(t.name, depth) : cedarValueIssue;
      default:
        return named(t.type, depth);
    }
  };
  const named = (name: string, depth: number): ValueCheck => {
    const bare = name.startsWith('__cedar::') ? name.slice('__cedar::'.length) : name;
    if (common.has(name)) return checkOf(common.get(name), depth + 1);
    if (EXTENSIONS[bare]) return extensionCheck(EXTENSIONS[bare]!);
    const p = primitive(bare);
    if (p) return p;
    if (entityTypes.has(name)) return entityCheck(name);
    return cedarValueIssue;
  };

  const attrs = new Map<string, ValueCheck>();
  const tags = new Map<string, ValueCheck>();
  const contexts = new Map<string, ValueCheck>();
  for (const [ns, def] of namespaces) {
    for (const [name, et] of Object.entries(def.entityTypes ?? {})) {
      attrs.set(q(ns, name), et.shape ? checkOf(et.shape, 0) : checkOf({ type: 'Record', attributes: {} }, 0));
      if (et.tags) tags.set(q(ns, name), checkOf(et.tags, 0));
    }
    for (const [name, action] of Object.entries(def.actions ?? {})) {
      const context = action.appliesTo?.context;
      if (context) contexts.set(`${q(ns, 'Action')}::${JSON.stringify(name)}`, checkOf(context, 0));
    }
  }
  return {
    attrs: (type) => attrs.get(type),
    tags: (type) => tags.get(type),
    context: (action) => contexts.get(action),
  };
}

/** Renders an issue's path under `base` (a JSON Pointer): `/input/resource/attributes/sensitivity`. */
export function issuePath(base: string, found: ValueIssue): string {
  return base + found.at.map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
