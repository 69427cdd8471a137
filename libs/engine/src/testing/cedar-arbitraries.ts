/**
 * Random Cedar inputs for differential testing (the way cedar-spec tests Cedar): a fixed but rich
 * schema ({@link DRT_SCHEMA}), type-directed random policies and templates over every expression
 * form of Cedar's JSON (EST) grammar, written as policy TEXT with random syntax variants (`["a"]`
 * for `.a`, `has"a"`, comments and line breaks before `.`/`has`, parentheses, entity literals with
 * spaces around `::` and escaped ids, strings holding `[`, `has ` or `now`), schema-conforming
 * random entity graphs (ancestors, attributes, tags, dangling references) and requests.
 *
 * Generation is driven by a seeded PRNG ({@link Rng}) so a plain loop can run millions of cases
 * (bench/drt/run.ts); the fast-check arbitraries wrap the same functions for property tests.
 *
 * Use:
 * ```ts
 * import fc from 'fast-check';
 * import { caseArb, DRT_SCHEMA } from './testing/cedar-arbitraries.ts';
 * fc.assert(fc.property(caseArb(), (c) => { ... c.policies, c.links, c.entities, c.requests ... }));
 * // or, without fast-check: const c = generateCase(rngFromSeed(42));
 * ```
 * Policies are not guaranteed to validate: filter with `cedar.validate` (strict) or
 * `compilePolicySet` and count the rejections (in practice a few percent).
 *
 * Test-only code: nothing in production imports it.
 */
import fc from 'fast-check';
import type { CedarEntity, CedarValue, EntityUid, TemplateLinkInput } from '../types.ts';

/** A small deterministic random source. */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
}

/** mulberry32: fast, seedable, good enough for test generation. */
export function rngFromSeed(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
  };
}

/** The schema every generated case conforms to: hierarchies, optional attributes, records, sets, tags, extensions. */
export const DRT_SCHEMA = `namespace App {
  type Profile = { home: Group, score: Long, motto?: String, boss?: User };
  type Rec = { u: User, k: Long };
  entity Group in [Group] { name: String, level: Long } tags Long;
  entity User in [Group] {
    name: String, "full name": String, level: Long, active: Bool, manager?: User, team: Group,
    friends: Set<User>, roles: Set<String>, profile: Profile, addr: ipaddr, balance: decimal, born: datetime, ttl: duration
  } tags String;
  entity Doc in [Group] { owner: User, level: Long, secret?: Bool, labels: Set<String>, reviewer?: User, folder: Group } tags User;
  type Ctx = {
    now: datetime, n: Long, s: String, flag: Bool, who: User, grp: Group, labels: Set<String>, nums: Set<Long>,
    peers: Set<User>, rec: Rec, opt?: Long, addr: ipaddr, amt: decimal, ttl: duration
  };
  action all;
  action read, write in [all] appliesTo { principal: [User], resource: [Doc], context: Ctx };
  action admin in [write] appliesTo { principal: [User], resource: [Doc], context: Ctx };
  action audit appliesTo { principal: [User], resource: [Doc], context: Ctx };
}
`;

const NS = 'App';
type Ty =
  | 'Bool'
  | 'Long'
  | 'String'
  | 'User'
  | 'Group'
  | 'Doc'
  | 'SetLong'
  | 'SetString'
  | 'SetUser'
  | 'SetGroup'
  | 'ip'
  | 'decimal'
  | 'datetime'
  | 'duration'
  | 'Profile'
  | 'Rec';
type EntityTy = 'User' | 'Group' | 'Doc';
interface Attr {
  name: string;
  ty: Ty;
  optional?: boolean;
}
const ATTRS: Record<'User' | 'Group' | 'Doc' | 'Profile' | 'Rec' | 'Ctx', Attr[]> = {
  Group: [
    { name: 'name', ty: 'String' },
    { name: 'level', ty: 'Long' },
  ],
  User: [
    { name: 'name', ty: 'String' },
    { name: 'full name', ty: 'String' },
    { name: 'level', ty: 'Long' },
    { name: 'active', ty: 'Bool' },
    { name: 'manager', ty: 'User', optional: true },
    { name: 'team', ty: 'Group' },
    { name: 'friends', ty: 'SetUser' },
    { name: 'roles', ty: 'SetString' },
    { name: 'profile', ty: 'Profile' },
    { name: 'addr', ty: 'ip' },
    { name: 'balance', ty: 'decimal' },
    { name: 'born', ty: 'datetime' },
    { name: 'ttl', ty: 'duration' },
  ],
  Doc: [
    { name: 'owner', ty: 'User' },
    { name: 'level', ty: 'Long' },
    { name: 'secret', ty: 'Bool', optional: true },
    { name: 'labels', ty: 'SetString' },
    { name: 'reviewer', ty: 'User', optional: true },
    { name: 'folder', ty: 'Group' },
  ],
  Profile: [
    { name: 'home', ty: 'Group' },
    { name: 'score', ty: 'Long' },
    { name: 'motto', ty: 'String', optional: true },
    { name: 'boss', ty: 'User', optional: true },
  ],
  Rec: [
    { name: 'u', ty: 'User' },
    { name: 'k', ty: 'Long' },
  ],
  Ctx: [
    { name: 'now', ty: 'datetime' },
    { name: 'n', ty: 'Long' },
    { name: 's', ty: 'String' },
    { name: 'flag', ty: 'Bool' },
    { name: 'who', ty: 'User' },
    { name: 'grp', ty: 'Group' },
    { name: 'labels', ty: 'SetString' },
    { name: 'nums', ty: 'SetLong' },
    { name: 'peers', ty: 'SetUser' },
    { name: 'rec', ty: 'Rec' },
    { name: 'opt', ty: 'Long', optional: true },
    { name: 'addr', ty: 'ip' },
    { name: 'amt', ty: 'decimal' },
    { name: 'ttl', ty: 'duration' },
  ],
};
const TAG_TYPE: Record<EntityTy, Ty> = { Group: 'Long', User: 'String', Doc: 'User' };

/** Entity ids: plain, with spaces, quotes, `::`, non-ASCII, empty; `ghost` never exists (dangling references). */
export const IDS: Record<EntityTy, readonly string[]> = {
  User: ['alice', 'bob', 'a b', 'q"x', 'x::y', 'ω', 'ghost'],
  Group: ['g0', 'g1', 'g 2', 'admins', '', 'ghost'],
  Doc: ['d0', 'd1', 'd\\2', 'ghost'],
};
const TAG_KEYS = ['boss', 'k', 'a b', 'now', 'team'] as const;
const STRINGS = ['', 'a', 'alice', 'x[y', 'has secret', 'now', 'context.now', 'principal.manager', 'a"b', 'ω', 'g 2'] as const;
const LONGS = [0, 1, 2, -1, 5, 100, 7, 9_007_199_254_740_991, -9_007_199_254_740_991] as const;
const BIG_LONG_TEXT = ['9223372036854775807', '-9223372036854775808', '4611686018427387904'] as const;
const IPS = ['10.0.0.1', '127.0.0.1', '192.168.1.0/24', '::1', 'ff02::1', '10.0.0.0/8', '224.0.0.1'] as const;
const DECIMALS = ['0.0', '1.5', '-2.25', '922337203685477.5807', '3.1415'] as const;
const DATETIMES = ['2024-01-01', '2024-06-30T12:00:00Z', '1970-01-01T00:00:00.001Z', '2030-12-31T23:59:59+0100'] as const;
const DURATIONS = ['0ms', '1h', '-3d', '1d2h3m4s5ms', '90m'] as const;
const ACTIONS = ['read', 'write', 'admin', 'audit', 'all'] as const;

/** Cedar string literal for `s`, sometimes with a character written as a `\u{..}` escape. */
function cedarString(r: Rng, s: string): string {
  let out = '"';
  const escapeAt = s.length > 0 && r.chance(0.2) ? r.int(s.length) : -1;
  [...s].forEach((ch, i) => {
    if (i === escapeAt) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
    else if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '*') out += '*';
    else out += ch;
  });
  return `${out}"`;
}

/** A type name, sometimes with spaces around `::`. */
function typeName(r: Rng, ty: string): string {
  return r.chance(0.15) ? `${NS} :: ${ty}` : `${NS}::${ty}`;
}

function entityLit(r: Rng, ty: string, id: string): string {
  return `${typeName(r, ty)}${r.chance(0.15) ? ' :: ' : '::'}${cedarString(r, id)}`;
}

/** One generated expression: its text and whether it needs parentheses as an operand. */
interface Ex {
  t: string;
  atom: boolean;
}
const atom = (t: string): Ex => ({ t, atom: true });
const comp = (t: string): Ex => ({ t, atom: false });

/** Type-directed expression generator. */
class ExprGen {
  constructor(
    private readonly r: Rng,
    private readonly template: boolean,
  ) {}

  /** An operand: compound expressions in parentheses, atoms sometimes too. */
  private op(e: Ex): string {
    return !e.atom || this.r.chance(0.08) ? `(${e.t})` : e.t;
  }

  /** `.name` in one of its spellings. */
  private access(base: Ex, name: string): Ex {
    const b = this.op(base);
    const ident = /^[A-Za-z_]\w*$/.test(name) && !['true', 'false', 'if', 'then', 'else', 'in', 'has', 'like', 'is'].includes(name);
    const r = this.r;
    if (!ident || r.chance(0.2)) return atom(`${b}[${cedarString(r, name)}]`);
    const k = r.int(10);
    if (k === 0) return atom(`${b} .${name}`);
    if (k === 1) return atom(`${b}// comment: has x["y"] .z\n  .${name}`);
    if (k === 2) return atom(`${b}\n.\n${name}`);
    return atom(`${b}.${name}`);
  }

  private has(base: Ex, name: string): Ex {
    const b = this.op(base);
    const ident = /^[A-Za-z_]\w*$/.test(name);
    const r = this.r;
    if (!ident || r.chance(0.25)) return comp(`${b} has${r.chance(0.4) ? '' : ' '}${cedarString(r, name)}`);
    if (r.chance(0.1)) return comp(`${b}// has nothing\n has ${name}`);
    return comp(`${b} has ${name}`);
  }

  /** An expression of type `ty` within `depth` levels of nesting. */
  expr(ty: Ty, depth: number): Ex {
    const r = this.r;
    if (depth <= 0 || r.chance(ty === 'Bool' ? 0.08 : 0.25)) return this.leaf(ty);
    if (r.chance(0.07))
      return comp(`if ${this.expr('Bool', depth - 1).t} then ${this.expr(ty, depth - 1).t} else ${this.expr(ty, depth - 1).t}`);
    if (r.chance(0.04)) {
      // A record literal read back: `{f: e, "g h": 1}.f`.
      const rec = atom(`{f: ${this.expr(ty, depth - 1).t}, "g h": ${this.expr('Long', 0).t}}`);
      return this.access(rec, 'f');
    }
    switch (ty) {
      case 'Bool':
        return this.bool(depth);
      case 'Long':
        return this.long(depth);
      case 'String':
        return r.chance(0.5) ? this.attrOf('String', depth) : this.leaf('String');
      case 'User':
      case 'Group':
      case 'Doc':
        return this.entity(ty, depth);
      case 'SetLong':
        return r.chance(0.5) ? atom(`context.nums`) : atom(`[${this.list('Long', depth)}]`);
      case 'SetString':
        return r.chance(0.5) ? this.attrOf('SetString', depth) : atom(`[${this.list('String', depth)}]`);
      case 'SetUser':
        return r.chance(0.5) ? this.attrOf('SetUser', depth) : atom(`[${this.list('User', depth)}]`);
      case 'SetGroup':
        return atom(`[${this.list('Group', depth)}]`);
      case 'datetime':
        if (r.chance(0.3)) return atom(`${this.op(this.expr('datetime', depth - 1))}.offset(${this.expr('duration', depth - 1).t})`);
        if (r.chance(0.2)) return atom(`${this.op(this.expr('datetime', depth - 1))}.toDate()`);
        return r.chance(0.5) ? this.attrOf('datetime', depth) : this.leaf('datetime');
      case 'duration':
        if (r.chance(0.25))
          return atom(`${this.op(this.expr('datetime', depth - 1))}.durationSince(${this.expr('datetime', depth - 1).t})`);
        if (r.chance(0.2)) return atom(`${this.op(this.expr('datetime', depth - 1))}.toTime()`);
        return r.chance(0.5) ? this.attrOf('duration', depth) : this.leaf('duration');
      default:
        return r.chance(0.6) ? this.attrOf(ty, depth) : this.leaf(ty);
    }
  }

  private list(ty: Ty, depth: number): string {
    const n = this.r.int(4);
    return Array.from({ length: n }, () => this.expr(ty, depth - 1).t).join(', ');
  }

  /** Literals and variables. */
  leaf(ty: Ty): Ex {
    const r = this.r;
    switch (ty) {
      case 'Bool':
        return atom(r.chance(0.5) ? 'true' : 'false');
      case 'Long': {
        if (r.chance(0.05)) return atom(r.pick(BIG_LONG_TEXT));
        const n = r.pick(LONGS);
        return n < 0 ? comp(String(n)) : atom(String(n));
      }
      case 'String':
        return atom(cedarString(r, r.pick(STRINGS)));
      case 'User':
        return r.chance(0.5) ? atom('principal') : atom(entityLit(r, 'User', r.pick(IDS.User)));
      case 'Group':
        return atom(entityLit(r, 'Group', r.pick(IDS.Group)));
      case 'Doc':
        return r.chance(0.6) ? atom('resource') : atom(entityLit(r, 'Doc', r.pick(IDS.Doc)));
      case 'SetLong':
        return atom(`[${r.pick(LONGS)}, 2]`);
      case 'SetString':
        return atom(`[${cedarString(r, r.pick(STRINGS))}]`);
      case 'SetUser':
        return atom(`[principal, ${entityLit(r, 'User', r.pick(IDS.User))}]`);
      case 'SetGroup':
        return atom(`[${entityLit(r, 'Group', r.pick(IDS.Group))}]`);
      case 'ip':
        return atom(`ip(${cedarString(r, r.pick(IPS))})`);
      case 'decimal':
        return atom(`decimal(${cedarString(r, r.pick(DECIMALS))})`);
      case 'datetime':
        return r.chance(0.3) ? this.nowRead() : atom(`datetime(${cedarString(r, r.pick(DATETIMES))})`);
      case 'duration':
        return atom(`duration(${cedarString(r, r.pick(DURATIONS))})`);
      case 'Profile':
        return atom('principal.profile');
      case 'Rec':
        return atom('context.rec');
    }
  }

  /** `context.now` in one of its spellings (an escaped `now` included). */
  private nowRead(): Ex {
    return atom(this.r.pick(['context.now', 'context["now"]', 'context["n\\u{6f}w"]', 'context\n  .now']));
  }

  /** An entity-typed expression: variables, literals, attribute chains, tags, conditionals. */
  entity(ty: EntityTy, depth: number): Ex {
    const r = this.r;
    if (depth <= 0) return this.leaf(ty);
    if (ty === 'Doc') return r.chance(0.3) ? atom(entityLit(r, 'Doc', r.pick(IDS.Doc))) : atom('resource');
    const k = r.int(3);
    if (k === 0) return this.leaf(ty);
    return this.attrOf(ty, depth);
  }

  /** A required attribute (or record field) of type `ty` read from a random base of a type that has one. */
  private attrOf(ty: Ty, depth: number): Ex {
    const r = this.r;
    const owners = (Object.keys(ATTRS) as Array<keyof typeof ATTRS>).filter((o) => ATTRS[o].some((a) => a.ty === ty && !a.optional));
    if (owners.length === 0) return this.leaf(ty);
    const owner = r.pick(owners);
    const attr = r.pick(ATTRS[owner].filter((a) => a.ty === ty && !a.optional));
    return this.access(this.base(owner, depth - 1), attr.name);
  }

  /** An expression of an entity or record type, to read from. */
  private base(owner: keyof typeof ATTRS, depth: number): Ex {
    const r = this.r;
    if (owner === 'Ctx') return r.chance(0.9) ? atom('context') : comp(`if ${this.expr('Bool', 0).t} then context else context`);
    if (owner === 'Profile') return this.access(this.base('User', depth - 1), 'profile');
    if (owner === 'Rec') return atom('context.rec');
    return this.expr(owner, Math.max(0, depth));
  }

  /** A Bool that reads an optional attribute or a tag only under its guard. */
  private guarded(depth: number): Ex {
    const r = this.r;
    const kind = r.int(3);
    if (kind === 0) {
      const owner = r.pick(['User', 'Doc', 'Profile', 'Ctx'] as const);
      const attr = r.pick(ATTRS[owner].filter((a) => a.optional));
      const base = this.base(owner, depth - 1);
      const read = this.access(base, attr.name);
      const guard = this.has(base, attr.name);
      const body = this.predicate(read, attr.ty, depth - 1);
      return r.chance(0.3)
        ? comp(`if ${guard.t} then ${body.t} else ${this.expr('Bool', 0).t}`)
        : comp(`${this.op(guard)} && ${this.op(body)}`);
    }
    const owner = r.pick(['User', 'Group', 'Doc'] as const);
    const base = this.expr(owner, depth - 1);
    const key = r.chance(0.8) ? cedarString(r, r.pick(TAG_KEYS)) : 'principal.name';
    const guard = atom(`${this.op(base)}.hasTag(${key})`);
    if (kind === 1) return guard;
    const read = atom(`${this.op(base)}.getTag(${key})`);
    return comp(`${this.op(guard)} && ${this.op(this.predicate(read, TAG_TYPE[owner], depth - 1))}`);
  }

  /** A Bool about `e` of type `ty`. */
  predicate(e: Ex, ty: Ty, depth: number): Ex {
    const r = this.r;
    const o = this.op(e);
    switch (ty) {
      case 'Long':
        return comp(`${o} ${r.pick(['<', '<=', '>', '>=', '==', '!='])} ${this.op(this.expr('Long', depth))}`);
      case 'String':
        return r.chance(0.5) ? comp(`${o} like ${this.pattern()}`) : comp(`${o} == ${this.op(this.expr('String', depth))}`);
      case 'Bool':
        return r.chance(0.5) ? e : comp(`${o} == ${this.op(this.expr('Bool', depth))}`);
      case 'User':
      case 'Group':
      case 'Doc': {
        const k = r.int(6);
        if (k === 0) return this.has(e, r.pick(ATTRS[ty]).name);
        if (k === 1) return comp(`${o} in ${this.op(this.expr(r.pick(['Group', 'SetGroup'] as const), depth))}`);
        if (k === 2) return comp(`${o} == ${this.op(this.expr(ty, depth))}`);
        if (k === 3) return comp(`${o} is ${typeName(r, ty)}${r.chance(0.5) ? ` in ${this.op(this.expr('Group', depth))}` : ''}`);
        if (k === 4 && depth > 0) {
          const attr = r.pick(ATTRS[ty].filter((a) => !a.optional));
          return this.predicate(this.access(e, attr.name), attr.ty, depth - 1);
        }
        return atom(`${o}.hasTag(${cedarString(r, r.pick(TAG_KEYS))})`);
      }
      default:
        return comp(`${o} == ${this.op(this.expr(ty, depth))}`);
    }
  }

  private long(depth: number): Ex {
    const r = this.r;
    const d = depth - 1;
    switch (r.int(7)) {
      case 0:
        return comp(`-${this.op(this.expr('Long', d))}`);
      case 1:
      case 2:
        return comp(`${this.op(this.expr('Long', d))} ${r.pick(['+', '-', '*'])} ${this.op(this.expr('Long', d))}`);
      case 3:
        return atom(`${this.op(this.expr('duration', d))}.${r.pick(['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds'])}()`);
      default:
        return this.attrOf('Long', depth);
    }
  }

  private pattern(): string {
    return this.r.pick(['"*"', '"a*"', '"*a*"', '"\\*"', '"x[y"', '"*has *"', '""', '"ω*"', '"*\\"*"']);
  }

  private bool(depth: number): Ex {
    const r = this.r;
    const d = depth - 1;
    switch (r.int(32)) {
      case 0:
        return comp(`!${this.op(this.expr('Bool', d))}`);
      case 1:
        return comp(`${this.op(this.expr('Bool', d))} && ${this.op(this.expr('Bool', d))}`);
      case 2:
        return comp(`${this.op(this.expr('Bool', d))} || ${this.op(this.expr('Bool', d))}`);
      case 3:
      case 4:
        return this.predicate(this.expr('Long', d), 'Long', d);
      case 5: {
        const ty = r.pick(['Bool', 'Long', 'String', 'User', 'Group', 'SetString', 'ip', 'decimal', 'duration', 'Profile'] as const);
        return comp(`${this.op(this.expr(ty, d))} ${r.pick(['==', '!='])} ${this.op(this.expr(ty, d))}`);
      }
      case 6: {
        const left = this.expr(r.pick(['User', 'Group', 'Doc'] as const), d);
        return comp(`${this.op(left)} in ${this.op(this.expr(r.pick(['Group', 'SetGroup', 'User', 'SetUser'] as const), d))}`);
      }
      case 7: {
        const [set, el] = r.pick([
          ['SetLong', 'Long'],
          ['SetString', 'String'],
          ['SetUser', 'User'],
        ] as const);
        return atom(`${this.op(this.expr(set, d))}.contains(${this.expr(el, d).t})`);
      }
      case 8: {
        const set = r.pick(['SetLong', 'SetString', 'SetUser', 'SetGroup'] as const);
        return atom(`${this.op(this.expr(set, d))}.${r.pick(['containsAll', 'containsAny'])}(${this.expr(set, d).t})`);
      }
      case 9:
        return atom(`${this.op(this.expr(r.pick(['SetLong', 'SetString', 'SetUser'] as const), d))}.isEmpty()`);
      case 10:
      case 11: {
        const owner = r.pick(['User', 'Group', 'Doc', 'Profile', 'Ctx', 'Rec'] as const);
        return this.has(this.base(owner, d), r.pick(ATTRS[owner]).name);
      }
      case 12:
      case 13:
        return this.guarded(depth);
      case 14: {
        const ty = r.pick(['User', 'Group', 'Doc'] as const);
        return this.predicate(this.expr(ty, d), ty, d);
      }
      case 15:
        return comp(`${this.op(this.expr('String', d))} like ${this.pattern()}`);
      case 16: {
        const k = r.int(5);
        const e = this.op(this.expr('ip', d));
        return k === 4
          ? atom(`${e}.isInRange(${this.expr('ip', d).t})`)
          : atom(`${e}.${['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast'][k]!}()`);
      }
      case 17:
        return atom(
          `${this.op(this.expr('decimal', d))}.${r.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${this.expr('decimal', d).t})`,
        );
      case 18: {
        const ty = r.pick(['datetime', 'duration'] as const);
        return comp(`${this.op(this.expr(ty, d))} ${r.pick(['<', '<=', '>', '>=', '==', '!='])} ${this.op(this.expr(ty, d))}`);
      }
      case 19:
        return this.actionCondition();
      case 20:
        return this.attrOf('Bool', depth);
      case 21:
        return comp(
          `{a: ${this.expr('Long', d).t}, "b c": ${this.expr('String', d).t}} == {a: ${this.expr('Long', d).t}, "b c": ${this.expr('String', d).t}}`,
        );
      case 22:
        return comp(
          `${this.op(this.expr('Long', d))} ${r.pick(['<', '>', '=='])} ${this.op(this.expr('duration', d))}.${r.pick(['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds'])}()`,
        );
      case 23:
      case 24: {
        const ty = r.pick(['User', 'Group', 'Doc'] as const);
        const inGroup = r.chance(0.5) ? ` in ${this.op(this.expr(r.pick(['Group', 'SetGroup', 'User'] as const), d))}` : '';
        return comp(`${this.op(this.expr(ty, d))} is ${typeName(r, r.chance(0.8) ? ty : r.pick(['User', 'Group', 'Doc']))}${inGroup}`);
      }
      case 25: {
        const owner = r.pick(['User', 'Group', 'Doc'] as const);
        const base = this.expr(owner, d);
        const key = cedarString(r, r.pick(TAG_KEYS));
        const read = atom(`${this.op(base)}.getTag(${key})`);
        return comp(`${this.op(atom(`${this.op(base)}.hasTag(${key})`))} && ${this.op(this.predicate(read, TAG_TYPE[owner], d))}`);
      }
      case 26: {
        const ty = r.pick(['ip', 'decimal'] as const);
        if (ty === 'ip') return atom(`${this.op(this.expr('ip', d))}.${r.pick(['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast'])}()`);
        return atom(
          `${this.op(this.expr('decimal', d))}.${r.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${this.expr('decimal', d).t})`,
        );
      }
      case 27:
      case 28: {
        const ty = r.pick(['Long', 'datetime', 'duration'] as const);
        return comp(`${this.op(this.expr(ty, d))} ${r.pick(['<=', '>=', '<', '>'])} ${this.op(this.expr(ty, d))}`);
      }
      case 29:
        return comp(`${this.op(this.long(d + 1))} ${r.pick(['<=', '>=', '==', '!='])} ${this.op(this.expr('Long', d))}`);
      case 30: {
        const set = r.pick(['SetLong', 'SetString', 'SetUser', 'SetGroup'] as const);
        const method = r.pick(['containsAll', 'containsAny', 'isEmpty']);
        return atom(`${this.op(this.expr(set, d))}.${method}(${method === 'isEmpty' ? '' : this.expr(set, d).t})`);
      }
      default:
        return this.leaf('Bool');
    }
  }

  /** Conditions on actions, including action literals other than the request's. */
  private actionCondition(): Ex {
    const r = this.r;
    const act = (): string => entityLit(r, 'Action', r.pick(ACTIONS));
    switch (r.int(4)) {
      case 0:
        return comp(`action == ${act()}`);
      case 1:
        return comp(`action in [${act()}, ${act()}]`);
      case 2:
        return comp(`${act()} in ${act()}`);
      default:
        return comp(`action in ${act()}`);
    }
  }

  /** A scope: `principal`, `== lit`, `in lit`, `is T`, `is T in lit`, or a slot in a template. */
  scope(variable: 'principal' | 'resource', ty: EntityTy): string {
    const r = this.r;
    if (this.template && r.chance(0.6)) return r.chance(0.5) ? `${variable} == ?${variable}` : `${variable} in ?${variable}`;
    switch (r.int(5)) {
      case 0:
        return `${variable} == ${entityLit(r, ty, r.pick(IDS[ty]))}`;
      case 1:
        return `${variable} in ${entityLit(r, 'Group', r.pick(IDS.Group))}`;
      case 2:
        return `${variable} is ${typeName(r, ty)}${r.chance(0.5) ? ` in ${entityLit(r, 'Group', r.pick(IDS.Group))}` : ''}`;
      default:
        return variable;
    }
  }

  actionScope(): string {
    const r = this.r;
    const act = (): string => entityLit(r, 'Action', r.pick(ACTIONS));
    switch (r.int(4)) {
      case 0:
        return `action == ${act()}`;
      case 1:
        return `action in [${act()}, ${act()}]`;
      case 2:
        return `action in ${act()}`;
      default:
        return 'action';
    }
  }
}

/** One generated policy (or template) with its id as an `@id` annotation in the text. */
export interface GeneratedPolicy {
  id: string;
  text: string;
  template: boolean;
}

/** Random policies and templates (text), with links for the templates. */
export function generatePolicies(
  r: Rng,
  options: { maxPolicies?: number; depth?: number } = {},
): { policies: GeneratedPolicy[]; links: TemplateLinkInput[] } {
  const n = 1 + r.int(options.maxPolicies ?? 4);
  const policies: GeneratedPolicy[] = [];
  const links: TemplateLinkInput[] = [];
  for (let i = 0; i < n; i++) {
    const wantTemplate = r.chance(0.12);
    const g = new ExprGen(r, wantTemplate);
    const principal = g.scope('principal', 'User');
    const resource = g.scope('resource', 'Doc');
    const template = principal.includes('?') || resource.includes('?');
    const id = template ? `t${i}` : `p${i}`;
    const effect = r.chance(0.6) ? 'permit' : 'forbid';
    const conditions = Array.from(
      { length: r.int(effect === 'forbid' ? 3 : 3) },
      () => `${r.chance(0.75) ? 'when' : 'unless'} { ${g.expr('Bool', options.depth ?? 4).t} }`,
    );
    const text = `@id(${JSON.stringify(id)})\n${effect} (${principal}, ${g.actionScope()}, ${resource})\n${conditions.join('\n')};`;
    policies.push({ id, text, template });
    if (template) {
      for (let l = 0; l < 1 + r.int(2); l++) {
        const values: TemplateLinkInput['values'] = {};
        if (principal.includes('?principal'))
          values['?principal'] = uid(r.chance(0.7) ? 'User' : 'Group', r.pick(r.chance(0.7) ? IDS.User : IDS.Group));
        if (resource.includes('?resource')) values['?resource'] = uid(r.chance(0.7) ? 'Doc' : 'Group', r.pick(IDS.Doc));
        links.push({ templateId: id, linkId: `${id}-l${l}`, values });
      }
    }
  }
  return { policies, links };
}

/** A uid in the DRT namespace. */
export function uid(type: string, id: string): EntityUid {
  return { type: `${NS}::${type}`, id };
}
const ref = (type: EntityTy, id: string): CedarValue => ({ __entity: uid(type, id) });
const extn = (fn: string, arg: string): CedarValue => ({ __extn: { fn, arg } });

function longValue(r: Rng): number {
  return r.pick(LONGS);
}

/** A schema-conforming entity graph: groups (acyclic), users and docs with attributes, tags, ancestors and dangling references. */
export function generateEntities(r: Rng): CedarEntity[] {
  const present = (ty: EntityTy): string[] => IDS[ty].filter((id) => id !== 'ghost' && r.chance(0.8));
  const groups = present('Group');
  const users = present('User');
  const docs = present('Doc');
  const someGroups = (): EntityUid[] => groups.filter(() => r.chance(0.3)).map((g) => uid('Group', g));
  const anyId = (ty: EntityTy): string => r.pick(IDS[ty]);
  const out: CedarEntity[] = [];
  groups.forEach((g, i) => {
    const tags: Record<string, CedarValue> = {};
    for (const k of TAG_KEYS) if (r.chance(0.2)) tags[k] = longValue(r);
    out.push({
      uid: uid('Group', g),
      attrs: { name: r.pick(STRINGS), level: longValue(r) },
      parents: groups
        .slice(0, i)
        .filter(() => r.chance(0.4))
        .map((p) => uid('Group', p)),
      tags,
    });
  });
  for (const u of users) {
    const attrs: Record<string, CedarValue> = {
      name: r.pick(STRINGS),
      'full name': r.pick(STRINGS),
      level: longValue(r),
      active: r.chance(0.5),
      team: ref('Group', anyId('Group')),
      friends: IDS.User.filter(() => r.chance(0.25)).map((f) => ref('User', f)),
      roles: STRINGS.filter(() => r.chance(0.2)),
      profile: {
        home: ref('Group', anyId('Group')),
        score: longValue(r),
        ...(r.chance(0.5) ? { motto: r.pick(STRINGS) } : {}),
        ...(r.chance(0.5) ? { boss: ref('User', anyId('User')) } : {}),
      },
      addr: extn('ip', r.pick(IPS)),
      balance: extn('decimal', r.pick(DECIMALS)),
      born: extn('datetime', r.pick(DATETIMES)),
      ttl: extn('duration', r.pick(DURATIONS)),
    };
    if (r.chance(0.6)) attrs.manager = ref('User', anyId('User'));
    const tags: Record<string, CedarValue> = {};
    for (const k of TAG_KEYS) if (r.chance(0.3)) tags[k] = r.pick(STRINGS);
    out.push({ uid: uid('User', u), attrs, parents: someGroups(), tags });
  }
  for (const d of docs) {
    const attrs: Record<string, CedarValue> = {
      owner: ref('User', anyId('User')),
      level: longValue(r),
      labels: STRINGS.filter(() => r.chance(0.2)),
      folder: ref('Group', anyId('Group')),
    };
    if (r.chance(0.5)) attrs.secret = r.chance(0.5);
    if (r.chance(0.5)) attrs.reviewer = ref('User', anyId('User'));
    const tags: Record<string, CedarValue> = {};
    for (const k of TAG_KEYS) if (r.chance(0.35)) tags[k] = ref('User', anyId('User'));
    out.push({ uid: uid('Doc', d), attrs, parents: someGroups(), tags });
  }
  return out;
}

/** One request: principal, action, resource and a schema-conforming context (with `now`). */
export interface GeneratedRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, CedarValue>;
}

export function generateRequest(r: Rng): GeneratedRequest {
  const context: Record<string, CedarValue> = {
    now: extn('datetime', r.pick(DATETIMES)),
    n: longValue(r),
    s: r.pick(STRINGS),
    flag: r.chance(0.5),
    who: ref('User', r.pick(IDS.User)),
    grp: ref('Group', r.pick(IDS.Group)),
    labels: STRINGS.filter(() => r.chance(0.2)),
    nums: LONGS.filter(() => r.chance(0.3)),
    peers: IDS.User.filter(() => r.chance(0.3)).map((u) => ref('User', u)),
    rec: { u: ref('User', r.pick(IDS.User)), k: longValue(r) },
    addr: extn('ip', r.pick(IPS)),
    amt: extn('decimal', r.pick(DECIMALS)),
    ttl: extn('duration', r.pick(DURATIONS)),
  };
  if (r.chance(0.5)) context.opt = longValue(r);
  return {
    principal: uid('User', r.pick(IDS.User)),
    action: uid('Action', r.pick(['read', 'write', 'admin', 'audit'])),
    resource: uid('Doc', r.pick(IDS.Doc)),
    context,
  };
}

/** A whole case: policies and links, an entity graph, and several requests against them. */
export interface GeneratedCase {
  schema: string;
  policies: GeneratedPolicy[];
  links: TemplateLinkInput[];
  entities: CedarEntity[];
  requests: GeneratedRequest[];
}

export function generateCase(r: Rng, options: { maxPolicies?: number; depth?: number; requests?: number } = {}): GeneratedCase {
  const { policies, links } = generatePolicies(r, options);
  const entities = generateEntities(r);
  const requests = Array.from({ length: options.requests ?? 8 }, () => generateRequest(r));
  return { schema: DRT_SCHEMA, policies, links, entities, requests };
}

const seedArb = fc.noShrink(fc.integer({ min: 0, max: 0x7fffffff }));

/** The fixed schema, as an arbitrary. */
export const schemaArb = (): fc.Arbitrary<string> => fc.constant(DRT_SCHEMA);
/** Random policies and templates with their links. */
export const policiesArb = (options: { maxPolicies?: number; depth?: number } = {}) =>
  seedArb.map((s) => generatePolicies(rngFromSeed(s), options));
/** A random schema-conforming entity graph. */
export const entityGraphArb = (): fc.Arbitrary<CedarEntity[]> => seedArb.map((s) => generateEntities(rngFromSeed(s)));
/** A random schema-conforming request. */
export const requestArb = (): fc.Arbitrary<GeneratedRequest> => seedArb.map((s) => generateRequest(rngFromSeed(s)));
/** A whole case (policies, links, entities, requests). */
export const caseArb = (options: { maxPolicies?: number; depth?: number; requests?: number } = {}): fc.Arbitrary<GeneratedCase> =>
  seedArb.map((s) => generateCase(rngFromSeed(s), options));
