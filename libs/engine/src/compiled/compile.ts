/**
 * Compiles one Cedar policy, in cedar-wasm's JSON form (EST, from `policyToJson` /
 * `templateToJson`), into a JavaScript closure that evaluates it with Cedar's semantics.
 *
 * Anything this compiler does not know exactly (an operator or function it does not implement, a
 * Long literal beyond 2^53, an extension literal it does not parse) makes the policy unsupported
 * ({@link UnsupportedPolicy}): the set, or the request, is then evaluated by cedar-wasm.
 */
import {
  BAIL,
  CedarEvalError,
  CSet,
  Ent,
  entFromUid,
  Ext,
  fromJson,
  I64_MAX,
  I64_MIN,
  Ip,
  makeSet,
  parseDatetime,
  parseDecimal,
  parseDuration,
  parseIp,
  Rec,
  setHas,
  typeError,
  valueEquals,
  type Value,
} from './values.ts';
import type { EntityStore } from './entity-store.ts';

/** What a compiled policy reads: the request and the entity store. */
export interface Env {
  principal: Ent;
  action: Ent;
  resource: Ent;
  context: Rec;
  store: EntityStore;
}

/** A compiled policy: `true` when satisfied, `false` when not; throws {@link CedarEvalError} when it errors. */
export type PolicyFn = (env: Env) => boolean;

/** The policy uses something the compiler does not implement exactly. */
export class UnsupportedPolicy extends Error {}

type Fn = (env: Env) => Value;
type Json = Record<string, unknown>;
/** Template slot values, from a link. */
export type SlotValues = Partial<Record<'?principal' | '?resource', { type: string; id: string }>>;

const unsupported = (what: string): never => {
  throw new UnsupportedPolicy(what);
};

/** Compiles a policy's EST (with the link's slot values for a template-linked policy). */
export function compilePolicy(est: Json, slots: SlotValues = {}): PolicyFn {
  const checks: Array<(env: Env) => boolean> = [];
  const p = compileScope(est.principal as Json, 'principal', slots);
  const a = compileScope(est.action as Json, 'action', slots);
  const r = compileScope(est.resource as Json, 'resource', slots);
  for (const c of [p, a, r]) if (c) checks.push(c);
  const conditions = (est.conditions ?? []) as Array<{ kind: string; body: Json }>;
  for (const c of conditions) {
    const body = compileExpr(c.body);
    if (c.kind === 'when') checks.push((env) => asBool(body(env)));
    else if (c.kind === 'unless') checks.push((env) => !asBool(body(env)));
    else unsupported(`condition kind ${c.kind}`);
  }
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (env) => {
    for (const c of checks) if (!c(env)) return false;
    return true;
  };
}

function asBool(v: Value): boolean {
  if (typeof v !== 'boolean') throw typeError('bool', v);
  return v;
}

function slotEnt(slots: SlotValues, slot: unknown): Ent {
  const uid = slots[slot as '?principal' | '?resource'];
  if (!uid) return unsupported(`unfilled slot ${String(slot)}`);
  return literalEnt(uid);
}

function literalEnt(uid: unknown): Ent {
  try {
    return entFromUid(uid);
  } catch {
    return unsupported('entity literal');
  }
}

/** A scope constraint; `undefined` for `All`. Scope checks never error. */
function compileScope(scope: Json, v: 'principal' | 'action' | 'resource', slots: SlotValues): ((env: Env) => boolean) | undefined {
  const target = (s: Json): Ent => (s.slot !== undefined ? slotEnt(slots, s.slot) : literalEnt(s.entity));
  switch (scope.op) {
    case 'All':
      return undefined;
    case '==': {
      const key = target(scope).key;
      return (env) => env[v].key === key;
    }
    case 'in': {
      if (Array.isArray(scope.entities)) {
        const keys = scope.entities.map((e) => literalEnt(e).key);
        return (env) => keys.some((k) => env.store.isIn(env[v], k));
      }
      const key = target(scope).key;
      return (env) => env.store.isIn(env[v], key);
    }
    case 'is': {
      const type = scope.entity_type;
      if (typeof type !== 'string') return unsupported('is without a type');
      if (scope.in === undefined) return (env) => env[v].type === type;
      const key = target(scope.in as Json).key;
      return (env) => env[v].type === type && env.store.isIn(env[v], key);
    }
    default:
      return unsupported(`scope op ${String(scope.op)}`);
  }
}

const BINARY = new Set([
  '==',
  '!=',
  'in',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  'contains',
  'containsAll',
  'containsAny',
  'getTag',
  'hasTag',
]);

/** Compiles one expression node. */
export function compileExpr(node: unknown): Fn {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return unsupported('expression shape');
  const keys = Object.keys(node);
  if (keys.length !== 1) return unsupported('expression shape');
  const op = keys[0]!;
  const arg = (node as Json)[op];
  if (BINARY.has(op)) {
    const { left, right } = arg as { left: unknown; right: unknown };
    return binary(op, compileExpr(left), compileExpr(right));
  }
  switch (op) {
    case 'Value':
      return constant(literal(arg));
    case 'Var':
      if (arg === 'principal') return (env) => env.principal;
      if (arg === 'action') return (env) => env.action;
      if (arg === 'resource') return (env) => env.resource;
      if (arg === 'context') return (env) => env.context;
      return unsupported(`variable ${String(arg)}`);
    case '!': {
      const x = compileExpr((arg as Json).arg);
      return (env) => !asBool(x(env));
    }
    case 'neg': {
      const x = compileExpr((arg as Json).arg);
      return (env) => {
        const v = x(env);
        if (typeof v !== 'number') throw typeError('long', v);
        // INVARIANT: Longs are safe integers, so their negation is one too (and never -0 below).
        return v === 0 ? 0 : -v;
      };
    }
    case 'isEmpty': {
      const x = compileExpr((arg as Json).arg);
      return (env) => {
        const v = x(env);
        if (!(v instanceof CSet)) throw typeError('set', v);
        return v.items.length === 0;
      };
    }
    case '.': {
      const { left, attr } = arg as { left: unknown; attr: unknown };
      if (typeof attr !== 'string') return unsupported('attribute name');
      const x = compileExpr(left);
      return (env) => getAttr(env, x(env), attr);
    }
    case 'has': {
      const { left, attr } = arg as { left: unknown; attr: unknown };
      const path = typeof attr === 'string' ? [attr] : attr;
      if (!Array.isArray(path) || path.length === 0 || !path.every((a) => typeof a === 'string')) return unsupported('has path');
      const x = compileExpr(left);
      return (env) => {
        // `e has a.b` is `e has a && e.a has b`.
        let v = x(env);
        for (let i = 0; i < path.length; i++) {
          if (!hasAttr(env, v, path[i] as string)) return false;
          if (i < path.length - 1) v = getAttr(env, v, path[i] as string);
        }
        return true;
      };
    }
    case 'like': {
      const { left, pattern } = arg as { left: unknown; pattern: unknown };
      const match = compileLike(pattern);
      const x = compileExpr(left);
      return (env) => {
        const v = x(env);
        if (typeof v !== 'string') throw typeError('string', v);
        return match(v);
      };
    }
    case 'is': {
      const { left, entity_type: type, in: inExpr } = arg as { left: unknown; entity_type: unknown; in?: unknown };
      if (typeof type !== 'string') return unsupported('is type');
      const x = compileExpr(left);
      const isType = (env: Env): Ent => {
        const v = x(env);
        if (!(v instanceof Ent)) throw typeError('(entity of type `any_entity_type`)', v);
        return v;
      };
      if (inExpr === undefined) return (env) => isType(env).type === type;
      // `e is T in x` is `e is T && e in x`.
      const inFn = binary('in', x, compileExpr(inExpr));
      return (env) => isType(env).type === type && (inFn(env) as boolean);
    }
    case 'if-then-else': {
      const { if: c, then: t, else: e } = arg as { if: unknown; then: unknown; else: unknown };
      const [cf, tf, ef] = [compileExpr(c), compileExpr(t), compileExpr(e)];
      return (env) => (asBool(cf(env)) ? tf(env) : ef(env));
    }
    case 'Set': {
      if (!Array.isArray(arg)) return unsupported('set literal');
      const items = arg.map(compileExpr);
      return (env) => makeSet(items.map((f) => f(env)));
    }
    case 'Record': {
      if (arg === null || typeof arg !== 'object') return unsupported('record literal');
      const fields = Object.entries(arg as Json).map(([k, v]) => [k, compileExpr(v)] as const);
      return (env) => new Rec(new Map(fields.map(([k, f]) => [k, f(env)])));
    }
    default:
      if (Array.isArray(arg)) return extensionCall(op, arg.map(compileExpr), arg);
      return unsupported(`operator ${op}`);
  }
}

function constant(v: Value): Fn {
  return () => v;
}

function literal(json: unknown): Value {
  try {
    return fromJson(json);
  } catch {
    return unsupported('literal');
  }
}

function getAttr(env: Env, v: Value, attr: string): Value {
  if (v instanceof Ent) {
    const e = env.store.get(v.key);
    if (!e) throw new CedarEvalError(`entity \`${v.key}\` does not exist`);
    const a = e.attrs.get(attr);
    if (a === undefined) throw new CedarEvalError(`\`${v.key}\` does not have the attribute \`${attr}\``);
    return a;
  }
  if (v instanceof Rec) {
    const a = v.fields.get(attr);
    if (a === undefined) throw new CedarEvalError(`record does not have the attribute \`${attr}\``);
    return a;
  }
  throw typeError('one of [record, (entity of type `any_entity_type`)]', v);
}

function hasAttr(env: Env, v: Value, attr: string): boolean {
  if (v instanceof Ent) return env.store.get(v.key)?.attrs.has(attr) ?? false;
  if (v instanceof Rec) return v.fields.has(attr);
  throw typeError('one of [record, (entity of type `any_entity_type`)]', v);
}

function asLong(v: Value): number {
  if (typeof v !== 'number') throw typeError('long', v);
  return v;
}

/** A Long result: exact when safe, an overflow error beyond i64, and a give-up in between. */
function checked(r: number, exact: () => bigint, what: string): number {
  if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  const b = exact();
  if (b < I64_MIN || b > I64_MAX) throw new CedarEvalError(`integer overflow while attempting to ${what}`);
  throw BAIL;
}

function binary(op: string, l: Fn, r: Fn): Fn {
  switch (op) {
    case '&&':
      return (env) => asBool(l(env)) && asBool(r(env));
    case '||':
      return (env) => asBool(l(env)) || asBool(r(env));
    case '==':
      return (env) => valueEquals(l(env), r(env));
    case '!=':
      return (env) => !valueEquals(l(env), r(env));
    case '+':
      return (env) => {
        const a = asLong(l(env));
        const b = asLong(r(env));
        return checked(a + b, () => BigInt(a) + BigInt(b), `add the values \`${a}\` and \`${b}\``);
      };
    case '-':
      return (env) => {
        const a = asLong(l(env));
        const b = asLong(r(env));
        return checked(a - b, () => BigInt(a) - BigInt(b), `subtract \`${b}\` from \`${a}\``);
      };
    case '*':
      return (env) => {
        const a = asLong(l(env));
        const b = asLong(r(env));
        return checked(a * b, () => BigInt(a) * BigInt(b), `multiply the values \`${a}\` and \`${b}\``);
      };
    case '<':
      return (env) => compare(l(env), r(env)) < 0;
    case '<=':
      return (env) => compare(l(env), r(env)) <= 0;
    case '>':
      return (env) => compare(l(env), r(env)) > 0;
    case '>=':
      return (env) => compare(l(env), r(env)) >= 0;
    case 'in':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (!(a instanceof Ent)) throw typeError('(entity of type `any_entity_type`)', a);
        if (b instanceof Ent) return env.store.isIn(a, b.key);
        if (!(b instanceof CSet)) throw typeError('one of [set, (entity of type `any_entity_type`)]', b);
        for (const x of b.items) if (!(x instanceof Ent)) throw typeError('(entity of type `any_entity_type`)', x);
        for (const x of b.items) if (env.store.isIn(a, (x as Ent).key)) return true;
        return false;
      };
    case 'contains':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (!(a instanceof CSet)) throw typeError('set', a);
        return setHas(a, b);
      };
    case 'containsAll':
    case 'containsAny':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (!(a instanceof CSet)) throw typeError('set', a);
        if (!(b instanceof CSet)) throw typeError('set', b);
        return op === 'containsAll' ? b.items.every((x) => setHas(a, x)) : b.items.some((x) => setHas(a, x));
      };
    case 'getTag':
    case 'hasTag':
      return (env) => {
        const a = l(env);
        const b = r(env);
        if (!(a instanceof Ent)) throw typeError('(entity of type `any_entity_type`)', a);
        if (typeof b !== 'string') throw typeError('string', b);
        const e = env.store.get(a.key);
        if (op === 'hasTag') return e?.tags?.has(b) ?? false;
        if (!e) throw new CedarEvalError(`entity \`${a.key}\` does not exist`);
        const t = e.tags?.get(b);
        if (t === undefined) throw new CedarEvalError(`\`${a.key}\` does not have the tag \`${b}\``);
        return t;
      };
    default:
      return unsupported(`operator ${op}`);
  }
}

/** Cedar 4's `<` family: Long with Long, datetime with datetime, duration with duration. */
function compare(a: Value, b: Value): number {
  if (typeof a === 'number') {
    if (typeof b !== 'number') throw typeError('long', b);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (a instanceof Ext && a.kind !== 'decimal') {
    if (!(b instanceof Ext) || b.kind !== a.kind) throw typeError(a.kind, b);
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
  }
  throw typeError('one of [long, datetime, duration]', a);
}

/** `like`: `*` matches any sequence of characters (Unicode scalar values), everything else itself. */
function compileLike(pattern: unknown): (s: string) => boolean {
  if (!Array.isArray(pattern)) return unsupported('like pattern');
  // Each element: a wildcard (-1) or one code point.
  const pat: number[] = [];
  for (const el of pattern) {
    if (el === 'Wildcard') pat.push(-1);
    else if (el && typeof el === 'object' && typeof (el as Json).Literal === 'string') {
      for (const ch of (el as Json).Literal as string) pat.push(ch.codePointAt(0)!);
    } else unsupported('like pattern element');
  }
  return (s) => {
    const text: number[] = [];
    for (const ch of s) text.push(ch.codePointAt(0)!);
    return glob(pat, text);
  };
}

function glob(pat: readonly number[], text: readonly number[]): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pat.length && pat[p] !== -1 && pat[p] === text[t]) {
      p++;
      t++;
    } else if (p < pat.length && pat[p] === -1) {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pat.length && pat[p] === -1) p++;
  return p === pat.length;
}

function ext(v: Value, kind: Ext['kind']): Ext {
  if (!(v instanceof Ext) || v.kind !== kind) throw typeError(kind, v);
  return v;
}

function ip(v: Value): Ip {
  if (!(v instanceof Ip)) throw typeError('ipaddr', v);
  return v;
}

function longOf(n: bigint): number {
  // INVARIANT: `n` is within i64 (extension values are), so only the safe range can be missed.
  if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(n);
  throw BAIL;
}

function inI64(n: bigint, what: string): bigint {
  if (n < I64_MIN || n > I64_MAX) throw new CedarEvalError(`overflow while applying \`${what}\``);
  return n;
}

const DAY = 86_400_000n;

/** Constructors and methods of the extension types. */
function extensionCall(name: string, args: Fn[], raw: unknown[]): Fn {
  const arity = (n: number) => {
    if (args.length !== n) unsupported(`${name} with ${args.length} arguments`);
  };
  const parsers: Record<string, (s: string) => Value | CedarEvalError | undefined> = {
    decimal: parseDecimal,
    ip: parseIp,
    datetime: parseDatetime,
    duration: parseDuration,
  };
  const parser = parsers[name];
  if (parser) {
    arity(1);
    const lit = raw[0] as Json;
    // Only literal strings are read here: anything else would be parsed at run time, where a
    // string this module does not read could not be told apart from one Cedar refuses.
    if (lit === null || typeof lit !== 'object' || typeof lit.Value !== 'string') return unsupported(`${name} of a non-literal`);
    const parsed = parser(lit.Value);
    if (parsed === undefined) return unsupported(`${name}("${lit.Value}")`);
    if (parsed instanceof CedarEvalError) {
      return () => {
        throw parsed;
      };
    }
    return constant(parsed);
  }
  const [a, b] = args;
  switch (name) {
    case 'lessThan':
    case 'lessThanOrEqual':
    case 'greaterThan':
    case 'greaterThanOrEqual': {
      arity(2);
      return (env) => {
        const x = ext(a!(env), 'decimal').n;
        const y = ext(b!(env), 'decimal').n;
        if (name === 'lessThan') return x < y;
        if (name === 'lessThanOrEqual') return x <= y;
        if (name === 'greaterThan') return x > y;
        return x >= y;
      };
    }
    case 'isIpv4':
      arity(1);
      return (env) => !ip(a!(env)).v6;
    case 'isIpv6':
      arity(1);
      return (env) => ip(a!(env)).v6;
    case 'isLoopback':
      arity(1);
      return (env) => {
        const x = ip(a!(env));
        return x.v6 ? x.addr === 1n && x.prefix >= 128 : x.addr >> 24n === 127n && x.prefix >= 8;
      };
    case 'isMulticast':
      arity(1);
      return (env) => {
        const x = ip(a!(env));
        return x.v6 ? x.addr >> 120n === 0xffn && x.prefix >= 8 : x.addr >> 28n === 0xen && x.prefix >= 4;
      };
    case 'isInRange':
      arity(2);
      return (env) => {
        const x = ip(a!(env));
        const y = ip(b!(env));
        if (x.v6 !== y.v6) return false;
        const bits = x.v6 ? 128n : 32n;
        const all = (1n << bits) - 1n;
        const netmask = (p: number) => (all << (bits - BigInt(p))) & all;
        const hostmask = (p: number) => all >> BigInt(p);
        return (
          (y.addr & netmask(y.prefix)) <= (x.addr & netmask(x.prefix)) && (x.addr | hostmask(x.prefix)) <= (y.addr | hostmask(y.prefix))
        );
      };
    case 'offset':
      arity(2);
      return (env) => new Ext('datetime', inI64(ext(a!(env), 'datetime').n + ext(b!(env), 'duration').n, 'offset'));
    case 'durationSince':
      arity(2);
      return (env) => new Ext('duration', inI64(ext(a!(env), 'datetime').n - ext(b!(env), 'datetime').n, 'durationSince'));
    case 'toDate':
      arity(1);
      return (env) => {
        const n = ext(a!(env), 'datetime').n;
        const rem = ((n % DAY) + DAY) % DAY;
        return new Ext('datetime', inI64(n - rem, 'toDate'));
      };
    case 'toTime':
      arity(1);
      return (env) => {
        const n = ext(a!(env), 'datetime').n;
        return new Ext('duration', ((n % DAY) + DAY) % DAY);
      };
    case 'toMilliseconds':
    case 'toSeconds':
    case 'toMinutes':
    case 'toHours':
    case 'toDays': {
      arity(1);
      const unit = { toMilliseconds: 1n, toSeconds: 1000n, toMinutes: 60_000n, toHours: 3_600_000n, toDays: DAY }[name];
      // Rust's integer division truncates toward zero, as BigInt's does.
      return (env) => longOf(ext(a!(env), 'duration').n / unit);
    }
    default:
      return unsupported(`function ${name}`);
  }
}
