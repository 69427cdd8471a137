/**
 * fast-check generators for differential testing of the compiled evaluator against cedar-wasm:
 * policies typed against {@link DRT_SCHEMA} (with deliberate type errors, missing attributes and
 * overflows mixed in), entity graphs with attributes, tags and ancestors, requests and contexts,
 * and extension values (decimal, ip, datetime, duration), valid and not.
 */
import fc from 'fast-check';
import type { CedarEntity, CedarValue, EntityUid } from '../../types.ts';

/** The schema the generated policies are typed against (Cedar schema syntax). */
export const DRT_SCHEMA = `namespace N {
  type Profile = { level: Long, dept: String };
  entity Group in [Group] { name: String };
  entity User in [Group] { name: String, age: Long, roles: Set<String>, manager?: User, addr: ipaddr,
    joined: datetime, window: duration, score: decimal, profile: Profile } tags String;
  entity Folder in [Folder] { name: String };
  entity Doc in [Folder] { owner: User, public: Bool, size: Long, labels: Set<String>, readers: Set<User> } tags Long;
  action all;
  action read, write in [all] appliesTo { principal: [User], resource: [Doc, Folder], context: Ctx };
  action admin appliesTo { principal: [User, Group], resource: [Doc, Folder], context: Ctx };
  type Ctx = { n?: Long, s?: String, flag?: Bool, who?: User, ss?: Set<String>, rec?: Profile, at?: datetime,
    dur?: duration, ip?: ipaddr, dec?: decimal };
}`;

const uid = (type: string, id: string): EntityUid => ({ type: `N::${type}`, id });
const lit = (u: EntityUid) => `${u.type}::${JSON.stringify(u.id)}`;

/** The entities a generated world may hold. */
export const USERS = ['u0', 'u1', 'u2', 'u3'].map((i) => uid('User', i));
export const GROUPS = ['g0', 'g1', 'g2'].map((i) => uid('Group', i));
export const DOCS = ['d0', 'd1', 'd2'].map((i) => uid('Doc', i));
export const FOLDERS = ['f0', 'f1'].map((i) => uid('Folder', i));
export const ACTIONS = ['read', 'write', 'admin'].map((i) => uid('Action', i));
const ALL = uid('Action', 'all');
/** Action entities as the engine adds them without a schema (the `all` group). */
export const ACTION_ENTITIES: CedarEntity[] = [
  { uid: ACTIONS[0]!, attrs: {}, parents: [ALL] },
  { uid: ACTIONS[1]!, attrs: {}, parents: [ALL] },
  { uid: ALL, attrs: {}, parents: [] },
];

type T = 'bool' | 'long' | 'string' | 'entity' | 'strset' | 'longset' | 'entset' | 'record' | 'decimal' | 'ip' | 'datetime' | 'duration';
const TYPES: T[] = ['bool', 'long', 'string', 'entity', 'strset', 'longset', 'entset', 'record', 'decimal', 'ip', 'datetime', 'duration'];

const STRINGS = ['', 'a', 'ab', 'alice', 'bob', 'a*b', 'é', 'x y', 'eng', 'ops', '\\u{0}'];
const strLit = fc.constantFrom(...STRINGS).map((s) => (s === '\\u{0}' ? '"\\0"' : JSON.stringify(s)));
const BIG = ['9223372036854775807', '4611686018427387904', '9007199254740991', '9007199254740993', '3037000500', '4294967296'];
const longLit = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -5, max: 20 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom(...BIG) },
);
const DECIMALS = [
  '1.0',
  '0.5',
  '-2.25',
  '1.00',
  '922337203685477.5807',
  '-922337203685477.5808',
  '1.23456',
  '1',
  'x',
  '922337203685478.0',
  '01.5',
];
const IPS = [
  '10.0.0.1',
  '10.0.0.0/8',
  '127.0.0.1',
  '127.0.0.0/4',
  '224.0.0.1',
  '192.168.1.1/24',
  '::1',
  'ff02::1',
  'ff00::/4',
  '::',
  '2001:db8::/32',
  '2001:db8::1',
  '1:2:3:4:5:6:7::',
  '10.0.0.1/33',
  '01.2.3.4',
  '::ffff:1.2.3.4',
  'x',
  '10.0.0.1/08',
  'FE80::1%1',
  '1.2.3.4/0',
];
const DATETIMES = [
  '2024-01-01',
  '2024-02-29',
  '2023-02-29',
  '1969-12-31T23:59:59Z',
  '2024-06-01T12:30:00.500Z',
  '2024-06-01T12:30:00+0130',
  '2024-06-01T12:30:00.123-2359',
  '2024-06-01T24:00:00Z',
  '2024-06-01T12:30:00+2400',
  '0000-01-01',
  '9999-12-31T23:59:59.999Z',
  '2024-1-01',
  '2024-06-01T12:30:00',
];
const DURATIONS = [
  '1d',
  '2h',
  '-3m',
  '1d2h3m4s5ms',
  '0ms',
  '-1d12h',
  '1s',
  '',
  '-',
  '1h1d',
  '106751991167d',
  '9223372036854775807ms',
  '-9223372036854775808ms',
  '25h',
];

const extLit = (fn: string, options: string[]) => fc.constantFrom(...options).map((s) => `${fn}(${JSON.stringify(s)})`);

/** Expressions of a given type, `depth` bounding nesting. With `bad`, now and then a value of another type or an absent attribute. */
function expr(t: T, depth: number): fc.Arbitrary<string> {
  const key = `${t}/${depth}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const base = leaves(t);
  const arb =
    depth <= 0
      ? base
      : fc.oneof(
          { weight: 3, arbitrary: base },
          { weight: 3, arbitrary: compound(t, depth - 1) },
          { weight: 1, arbitrary: fc.constantFrom(...TYPES).chain((u) => expr(u, depth - 1)) },
        );
  cache.set(key, arb);
  return arb;
}
const cache = new Map<string, fc.Arbitrary<string>>();

function leaves(t: T): fc.Arbitrary<string> {
  const ent = fc.constantFrom('principal', 'resource', 'context.who', 'principal.manager', 'resource.owner');
  switch (t) {
    case 'bool':
      return fc.constantFrom('true', 'false', 'context.flag', 'resource.public');
    case 'long':
      return fc.oneof(
        longLit,
        fc.constantFrom('principal.age', 'context.n', 'resource.size', 'principal.profile.level', 'context.rec.level'),
      );
    case 'string':
      return fc.oneof(
        strLit,
        fc.constantFrom('principal.name', 'context.s', 'principal.profile.dept', 'resource.name', 'principal.manager.name'),
      );
    case 'entity':
      return fc.oneof(ent, fc.constantFrom(...USERS, ...GROUPS, ...DOCS, ...FOLDERS, uid('User', 'ghost')).map(lit));
    case 'strset':
      return fc.oneof(
        fc.constantFrom('principal.roles', 'context.ss', 'resource.labels'),
        fc.array(strLit, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
      );
    case 'longset':
      return fc.array(longLit, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`);
    case 'entset':
      return fc.oneof(
        fc.constant('resource.readers'),
        fc.array(leaves('entity'), { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
      );
    case 'record':
      return fc.oneof(
        fc.constantFrom('principal.profile', 'context.rec', 'context'),
        fc.tuple(longLit, strLit).map(([l, s]) => `{level: ${l}, dept: ${s}}`),
      );
    case 'decimal':
      return fc.oneof(extLit('decimal', DECIMALS), fc.constantFrom('principal.score', 'context.dec'));
    case 'ip':
      return fc.oneof(extLit('ip', IPS), fc.constantFrom('principal.addr', 'context.ip'));
    case 'datetime':
      return fc.oneof(extLit('datetime', DATETIMES), fc.constantFrom('principal.joined', 'context.at'));
    case 'duration':
      return fc.oneof(extLit('duration', DURATIONS), fc.constantFrom('principal.window', 'context.dur'));
  }
}

function compound(t: T, d: number): fc.Arbitrary<string> {
  const e = (u: T) => expr(u, d);
  const bin = (a: T, op: string, b: T) => fc.tuple(e(a), e(b)).map(([x, y]) => `(${x} ${op} ${y})`);
  const call = (a: T, m: string, ...args: T[]) => fc.tuple(e(a), ...args.map(e)).map(([x, ...ys]) => `${x}.${m}(${ys.join(', ')})`);
  const ite = fc.tuple(e('bool'), e(t), e(t)).map(([c, x, y]) => `(if ${c} then ${x} else ${y})`);
  switch (t) {
    case 'bool':
      return fc.oneof(
        bin('bool', '&&', 'bool'),
        bin('bool', '||', 'bool'),
        e('bool').map((x) => `!(${x})`),
        fc
          .constantFrom<T>(...TYPES)
          .chain((u) => fc.tuple(e(u), e(u), fc.constantFrom('==', '!=')))
          .map(([x, y, op]) => `(${x} ${op} ${y})`),
        fc
          .tuple(fc.constantFrom<T>('long', 'datetime', 'duration', 'decimal'), fc.constantFrom('<', '<=', '>', '>='))
          .chain(([u, op]) => bin(u, op, u)),
        fc.tuple(e('string'), fc.constantFrom('a*', '*b', '*', 'a\\*b', '', '*l*e', 'x y', 'é')).map(([x, p]) => `(${x} like "${p}")`),
        fc.tuple(e('entity'), fc.constantFrom('User', 'Group', 'Doc', 'Folder')).map(([x, ty]) => `(${x} is N::${ty})`),
        fc.tuple(e('entity'), fc.constantFrom(...GROUPS, ...FOLDERS, USERS[0]!).map(lit)).map(([x, g]) => `(${x} is N::User in ${g})`),
        bin('entity', 'in', 'entity'),
        bin('entity', 'in', 'entset'),
        fc
          .tuple(
            fc.constantFrom('principal', 'resource', 'context', 'context.rec', 'principal.profile', 'principal.manager', 'context.who'),
            fc.constantFrom('name', 'manager', 'age', 'n', 'rec', 'level', 'owner', 'public', '"x y"', 'profile.level', 'manager.name'),
          )
          .map(([x, a]) => `(${x} has ${a})`),
        call('strset', 'contains', 'string'),
        call('longset', 'contains', 'long'),
        call('entset', 'contains', 'entity'),
        call('strset', 'containsAll', 'strset'),
        call('strset', 'containsAny', 'strset'),
        e('strset').map((x) => `${x}.isEmpty()`),
        fc
          .tuple(e('decimal'), e('decimal'), fc.constantFrom('lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'))
          .map(([x, y, m]) => `${x}.${m}(${y})`),
        fc.tuple(e('ip'), fc.constantFrom('isIpv4', 'isIpv6', 'isLoopback', 'isMulticast')).map(([x, m]) => `${x}.${m}()`),
        call('ip', 'isInRange', 'ip'),
        fc
          .tuple(fc.constantFrom('principal', 'resource', 'principal.manager', 'context.who'), e('string'))
          .map(([x, k]) => `${x}.hasTag(${k})`),
        ite,
      );
    case 'long':
      return fc.oneof(
        bin('long', '+', 'long'),
        bin('long', '-', 'long'),
        bin('long', '*', 'long'),
        e('long').map((x) => `(-(${x}))`),
        fc.tuple(fc.constantFrom('resource', 'context.who', 'principal'), e('string')).map(([x, k]) => `${x}.getTag(${k})`),
        fc
          .tuple(e('duration'), fc.constantFrom('toMilliseconds', 'toSeconds', 'toMinutes', 'toHours', 'toDays'))
          .map(([x, m]) => `${x}.${m}()`),
        e('record').map((x) => `${x}.level`),
        ite,
      );
    case 'string':
      return fc.oneof(
        fc.tuple(fc.constantFrom('principal', 'principal.manager'), e('string')).map(([x, k]) => `${x}.getTag(${k})`),
        e('record').map((x) => `${x}.dept`),
        ite,
      );
    case 'entity':
      return fc.oneof(
        e('entity').map((x) => `${x}.manager`),
        e('entity').map((x) => `${x}.owner`),
        ite,
      );
    case 'record':
      return fc.oneof(
        fc.tuple(e('long'), e('string')).map(([l, s]) => `{level: ${l}, dept: ${s}}`),
        e('record').map((x) => `${x}.rec`),
        ite,
      );
    case 'datetime':
      return fc.oneof(
        call('datetime', 'offset', 'duration'),
        e('datetime').map((x) => `${x}.toDate()`),
        ite,
      );
    case 'duration':
      return fc.oneof(
        call('datetime', 'durationSince', 'datetime'),
        e('datetime').map((x) => `${x}.toTime()`),
        ite,
      );
    default:
      return ite;
  }
}

const scopeEntity = (pool: EntityUid[]) => fc.constantFrom(...pool).map(lit);
const principalScope = fc.oneof(
  fc.constant('principal'),
  scopeEntity(USERS).map((u) => `principal == ${u}`),
  scopeEntity([...GROUPS, USERS[1]!]).map((g) => `principal in ${g}`),
  fc.constant('principal is N::User'),
  scopeEntity(GROUPS).map((g) => `principal is N::User in ${g}`),
);
const actionScope = fc.oneof(
  fc.constant('action'),
  scopeEntity(ACTIONS).map((a) => `action == ${a}`),
  fc.constant(`action in ${lit(ALL)}`),
  fc.subarray([...ACTIONS, ALL], { minLength: 1 }).map((xs) => `action in [${xs.map(lit).join(', ')}]`),
);
const resourceScope = fc.oneof(
  fc.constant('resource'),
  scopeEntity(DOCS).map((d) => `resource == ${d}`),
  scopeEntity([...FOLDERS, DOCS[0]!]).map((f) => `resource in ${f}`),
  fc.constantFrom('resource is N::Doc', 'resource is N::Folder'),
  scopeEntity(FOLDERS).map((f) => `resource is N::Doc in ${f}`),
);

/** One policy's text. */
export const policyText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('permit', 'permit', 'forbid'),
    principalScope,
    actionScope,
    resourceScope,
    fc.array(fc.tuple(fc.constantFrom('when', 'when', 'unless'), expr('bool', 3)), { maxLength: 2 }),
  )
  .map(([effect, p, a, r, conds]) => `${effect} (${p}, ${a}, ${r})${conds.map(([k, b]) => ` ${k} { ${b} }`).join('')};`);

/** A template (slots in its scope) and the link values to fill it. */
export const templateWithLinks = fc
  .tuple(
    fc.constantFrom('permit', 'forbid'),
    fc.constantFrom('principal == ?principal', 'principal in ?principal', 'principal is N::User in ?principal', 'principal'),
    actionScope,
    fc.constantFrom('resource in ?resource', 'resource == ?resource', 'resource', 'resource is N::Doc in ?resource'),
    fc.array(fc.tuple(fc.constantFrom('when', 'unless'), expr('bool', 2)), { maxLength: 1 }),
    fc.array(fc.tuple(fc.constantFrom(...USERS, ...GROUPS), fc.constantFrom(...DOCS, ...FOLDERS)), { minLength: 1, maxLength: 2 }),
  )
  .filter(([, p, , r]) => p.includes('?') || r.includes('?'));

// ---------- values, entities, requests ----------

const ext = (fn: string, arg: string): CedarValue => ({ __extn: { fn, arg } });
/** Extension strings in entity and context values: Cedar refuses the whole request for an invalid one, so those are rare. */
const extVal = (fn: string, valid: string[], all: string[]) =>
  fc.oneof({ weight: 300, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom(...all) }).map((s) => ext(fn, s));
const strVal = fc.constantFrom(...STRINGS.filter((s) => !s.startsWith('\\')));
const longVal = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -5, max: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(9007199254740991, -9007199254740991, 4294967296, 3037000500) },
);

function valueOf(t: T): fc.Arbitrary<CedarValue> {
  switch (t) {
    case 'bool':
      return fc.boolean();
    case 'long':
      return longVal;
    case 'string':
      return strVal;
    case 'entity':
      return fc.constantFrom(...USERS, uid('User', 'ghost')).map((u) => ({ __entity: u }));
    case 'strset':
      return fc.array(strVal, { maxLength: 3 });
    case 'longset':
      return fc.array(longVal, { maxLength: 3 });
    case 'entset':
      return fc.array(valueOf('entity'), { maxLength: 3 });
    case 'record':
      return fc.record({ level: longVal, dept: strVal }, { requiredKeys: [] });
    case 'decimal':
      return extVal('decimal', ['1.0', '0.5', '-2.25', '1.00', '922337203685477.5807', '-922337203685477.5808'], DECIMALS);
    case 'ip':
      return extVal('ip', IPS.slice(0, 13), IPS);
    case 'datetime':
      return extVal(
        'datetime',
        DATETIMES.filter((_, i) => ![2, 7, 8, 11, 12].includes(i)),
        DATETIMES,
      );
    case 'duration':
      return extVal(
        'duration',
        DURATIONS.filter((_, i) => ![7, 8, 9].includes(i)),
        DURATIONS,
      );
  }
}

/** Mostly the declared type, now and then another one; `undefined` (absent) now and then. */
function attr(t: T): fc.Arbitrary<CedarValue | undefined> {
  return fc.oneof(
    { weight: 40, arbitrary: valueOf(t) },
    { weight: 1, arbitrary: fc.constantFrom(...TYPES).chain(valueOf) },
    { weight: 2, arbitrary: fc.constant(undefined) },
  );
}

function attrs(shape: Record<string, T>): fc.Arbitrary<Record<string, CedarValue>> {
  return fc
    .record(Object.fromEntries(Object.entries(shape).map(([k, t]) => [k, attr(t)])))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Record<string, CedarValue>);
}

const parentsFrom = (pool: EntityUid[]) => fc.subarray(pool, { maxLength: Math.min(2, pool.length) });
const tagsOf = (t: T) => fc.option(fc.dictionary(fc.constantFrom('a', 'b', 'eng', ''), valueOf(t), { maxKeys: 2 }), { nil: undefined });

/** An entity graph (acyclic: users under groups, groups under lower groups, docs under folders). */
export const entityGraph: fc.Arbitrary<CedarEntity[]> = fc
  .tuple(
    fc.tuple(
      ...USERS.map((u) =>
        fc.tuple(
          fc.constant(u),
          attrs({
            name: 'string',
            age: 'long',
            roles: 'strset',
            manager: 'entity',
            addr: 'ip',
            joined: 'datetime',
            window: 'duration',
            score: 'decimal',
            profile: 'record',
          }),
          parentsFrom(GROUPS),
          tagsOf('string'),
        ),
      ),
    ),
    fc.tuple(...GROUPS.map((g, i) => fc.tuple(fc.constant(g), attrs({ name: 'string' }), parentsFrom(GROUPS.slice(i + 1))))),
    fc.tuple(
      ...DOCS.map((d) =>
        fc.tuple(
          fc.constant(d),
          attrs({ owner: 'entity', public: 'bool', size: 'long', labels: 'strset', readers: 'entset' }),
          parentsFrom(FOLDERS),
          tagsOf('long'),
        ),
      ),
    ),
    fc.tuple(...FOLDERS.map((f, i) => fc.tuple(fc.constant(f), attrs({ name: 'string' }), parentsFrom(FOLDERS.slice(i + 1))))),
    fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  )
  .map(([users, groups, docs, folders, keep]) => {
    const all: CedarEntity[] = [
      ...users.map(([u, a, p, tags]) => ({ uid: u, attrs: a, parents: p, ...(tags ? { tags } : {}) })),
      ...groups.map(([g, a, p]) => ({ uid: g, attrs: a, parents: p })),
      ...docs.map(([d, a, p, tags]) => ({ uid: d, attrs: a, parents: p, ...(tags ? { tags } : {}) })),
      ...folders.map(([f, a, p]) => ({ uid: f, attrs: a, parents: p })),
    ];
    // Leave some entities out: references to entities that do not exist.
    return all.filter((_, i) => keep[i] !== false || i % 3 !== 0);
  });

/** A request: who, what, on what, and a context. */
export const requestArb = fc.record({
  principal: fc.constantFrom(...USERS, USERS[0]!, GROUPS[0]!, uid('User', 'ghost')),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...DOCS, ...FOLDERS),
  context: attrs({
    n: 'long',
    s: 'string',
    flag: 'bool',
    who: 'entity',
    ss: 'strset',
    rec: 'record',
    at: 'datetime',
    dur: 'duration',
    ip: 'ip',
    dec: 'decimal',
  }),
});

/** One differential case: a policy set, templates with links, an entity graph, and requests against it. */
export const drtCase = fc.record({
  policies: fc.array(policyText, { minLength: 1, maxLength: 5 }),
  templates: fc.array(templateWithLinks, { maxLength: 1 }),
  entities: entityGraph,
  requests: fc.array(requestArb, { minLength: 4, maxLength: 8 }),
});

/** A generated case, as the DRT runner uses it. */
export type DrtCase = typeof drtCase extends fc.Arbitrary<infer C> ? C : never;
