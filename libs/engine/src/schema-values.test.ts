/**
 * Entity and context values written without their escapes, as Cedar's JSON formats allow where the
 * schema declares the type (`schema-values.ts`): Argus's production path (no schema at evaluation)
 * must decide exactly as cedar-wasm given the schema.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cedar } from './cedar-wasm.ts';
import { compilePolicySet, contextFor, evaluate, sliceFor, uidKey, type CompiledPolicySet } from './index.ts';
import { schemaValues } from './schema-values.ts';
import { caseArb } from './testing/cedar-arbitraries.ts';
import { argusOutcome, cedarOutcome, compileCase, emptyStats } from './testing/drt.ts';
import type { CedarEntity, CedarValue, EntityUid } from './types.ts';

const SCHEMA = `
type Net = { ip: ipaddr, owner: User };
entity UserGroup;
entity User in [UserGroup] = { level: Long, net?: Net };
entity Account = { owner: User, admins: Set<User>, private: Bool } tags User;
entity Photo in [Account] = { account: Account, score: decimal, taken: datetime, ttl: duration };
action view appliesTo { principal: [User], resource: [Photo], context: { ip: ipaddr, who: User, nets: Set<Net>, conf: decimal } };
namespace Ns {
  entity Doc = { by: Person };
  entity Person;
  action read appliesTo { principal: [Person], resource: [Doc] };
}
`;
const POLICIES = [
  '@id("owner") permit (principal, action == Action::"view", resource) when { resource.account.owner == principal };',
  '@id("admin") permit (principal, action == Action::"view", resource) when { resource.account.admins.contains(principal) };',
  '@id("tagged") permit (principal, action == Action::"view", resource) when { resource.account.hasTag("delegate") && resource.account.getTag("delegate") == principal };',
  '@id("score") forbid (principal, action == Action::"view", resource) when { resource.score.lessThan(decimal("0.5")) };',
  '@id("ttl") forbid (principal, action == Action::"view", resource) when { resource.ttl > duration("1d") || resource.taken < datetime("2000-01-01") };',
  '@id("ctx") permit (principal, action == Action::"view", resource) when { context.ip.isInRange(ip("10.0.0.0/8")) && context.who == principal && context.conf.greaterThan(decimal("0.9")) };',
  '@id("nets") forbid (principal, action == Action::"view", resource) when { context.nets.contains({ ip: ip("192.168.0.1"), owner: principal }) };',
  '@id("net") permit (principal, action == Action::"view", resource) when { principal has net && principal.net.ip.isLoopback() && principal.net.owner == principal };',
].join('\n');

const user = (id: string): EntityUid => ({ type: 'User', id });
/** Alice owns account a1; bob administers it and is its tagged delegate; carol's net is on loopback. */
const IMPLICIT: CedarEntity[] = [
  { uid: user('alice'), attrs: { level: 1 }, parents: [] },
  { uid: user('bob'), attrs: { level: 2 }, parents: [] },
  { uid: user('carol'), attrs: { level: 3, net: { ip: '127.0.0.1', owner: { type: 'User', id: 'carol' } } }, parents: [] },
  {
    uid: { type: 'Account', id: 'a1' },
    attrs: { owner: { type: 'User', id: 'alice' }, admins: [{ type: 'User', id: 'bob' }], private: false },
    parents: [],
    tags: { delegate: { type: 'User', id: 'bob' } },
  },
  {
    uid: { type: 'Photo', id: 'p1' },
    attrs: { account: { type: 'Account', id: 'a1' }, score: '0.75', taken: { fn: 'datetime', arg: '2024-05-01' }, ttl: '2h' },
    parents: [{ type: 'Account', id: 'a1' }],
  },
  {
    uid: { type: 'Photo', id: 'low' },
    attrs: { account: { type: 'Account', id: 'a1' }, score: '0.25', taken: '2024-05-01', ttl: '2h' },
    parents: [],
  },
];
const CONTEXT = { ip: '10.1.2.3', who: { type: 'User', id: 'dave' }, nets: [], conf: { fn: 'decimal', arg: '0.5' } };

function compile(): CompiledPolicySet {
  const r = compilePolicySet({ schema: SCHEMA, policies: [{ file: 'p.cedar', text: POLICIES }] });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.policySet;
}

/** Argus's path: slice, prune, evaluate without the schema. */
function argus(
  set: CompiledPolicySet,
  entities: CedarEntity[],
  principal: EntityUid,
  resource: EntityUid,
  context: Record<string, unknown>,
) {
  const all = new Map(entities.map((e) => [uidKey(e.uid), e]));
  const d = evaluate(
    set,
    {
      principal,
      action: { type: 'Action', id: 'view' },
      resource,
      context: contextFor(set, context) as Record<string, CedarValue>,
      entities: sliceFor(set, all, [principal, resource], context, { pruneAttributes: true }),
    },
    { validateRequest: false },
  );
  return { decision: d.decision, determining: d.determining.map((p) => p.id), errors: d.errors.map((e) => e.policyId) };
}

/** cedar-wasm given the schema and every entity, with Argus's rule that an erroring forbid denies. */
function reference(
  set: CompiledPolicySet,
  entities: CedarEntity[],
  principal: EntityUid,
  resource: EntityUid,
  context: Record<string, unknown>,
) {
  const staticPolicies = Object.fromEntries(set.staticTexts);
  const r = cedar.isAuthorized({
    principal,
    action: { type: 'Action', id: 'view' },
    resource,
    context: context as never,
    schema: SCHEMA,
    validateRequest: true,
    policies: { staticPolicies },
    entities: entities as never,
  });
  if (r.type !== 'success') throw new Error(r.errors.map((e) => e.message).join('; '));
  const errors = r.response.diagnostics.errors.map((e) => e.policyId);
  const forbids = errors.filter((id) => set.policies.get(id)?.effect === 'forbid');
  const decision = r.response.decision === 'allow' && forbids.length > 0 ? 'deny' : r.response.decision;
  return {
    decision,
    determining:
      forbids.length > 0 && decision === 'deny' && r.response.decision === 'allow' ? forbids : [...r.response.diagnostics.reason].sort(),
    errors,
  };
}

describe('values written as the schema reads them (implicit entity references and extension values)', () => {
  const set = compile();
  const cases: Array<[string, EntityUid, EntityUid, Record<string, unknown>]> = [
    ['the owner, through an implicit Account and User', user('alice'), { type: 'Photo', id: 'p1' }, CONTEXT],
    ['an admin, through a set of implicit Users', user('bob'), { type: 'Photo', id: 'p1' }, CONTEXT],
    ['a stranger: denied', user('dave'), { type: 'Photo', id: 'p1' }, CONTEXT],
    ['a low score as a decimal string: forbidden', user('alice'), { type: 'Photo', id: 'low' }, CONTEXT],
    [
      'context: an ipaddr string, an implicit User, a decimal {fn, arg}',
      user('dave'),
      { type: 'Photo', id: 'p1' },
      { ...CONTEXT, conf: '0.95' },
    ],
    [
      'context: a set of records holding an ipaddr string and an implicit User',
      user('alice'),
      { type: 'Photo', id: 'p1' },
      { ...CONTEXT, nets: [{ ip: '192.168.0.1', owner: { type: 'User', id: 'alice' } }] },
    ],
    ['a record attribute of a common type', user('carol'), { type: 'Photo', id: 'p1' }, CONTEXT],
  ];
  for (const [name, principal, resource, context] of cases) {
    it(`decides as Cedar given the schema: ${name}`, () => {
      const ours = argus(set, IMPLICIT, principal, resource, context);
      expect(ours).toEqual(reference(set, IMPLICIT, principal, resource, context));
      expect(ours.errors).toEqual([]);
    });
  }

  it('decides some allows and some denies (the cases above are not vacuous)', () => {
    const decisions = cases.map(([, p, r, c]) => argus(set, IMPLICIT, p, r, c).decision);
    expect(decisions).toContain('allow');
    expect(decisions).toContain('deny');
  });

  it('rewrites only where the schema declares an entity or an extension type, and copies nothing otherwise', () => {
    const values = schemaValues(SCHEMA)!;
    const plain: CedarEntity = { uid: user('x'), attrs: { level: 1 }, parents: [] };
    expect(values.entity(plain)).toBe(plain);
    const escaped = {
      uid: { type: 'Account', id: 'a' },
      attrs: { owner: { __entity: { type: 'User', id: 'x' } }, admins: [], private: true },
      parents: [],
    };
    expect(values.entity(escaped)).toBe(escaped);
    // A String attribute holding `{ type, id }` is left alone; so is a value of the wrong shape.
    const wrong: CedarEntity = { uid: user('y'), attrs: { level: { type: 'User', id: 'z' } as never }, parents: [] };
    expect(values.entity(wrong)).toBe(wrong);
    expect(values.entity(IMPLICIT[3]!)).toEqual({
      ...IMPLICIT[3],
      attrs: { owner: { __entity: user('alice') }, admins: [{ __entity: user('bob') }], private: false },
      tags: { delegate: { __entity: user('bob') } },
    });
    expect(values.context(uidKey({ type: 'Action', id: 'view' }), CONTEXT)).toEqual({
      ip: { __extn: { fn: 'ip', arg: '10.1.2.3' } },
      who: { __entity: user('dave') },
      nets: [],
      conf: { __extn: { fn: 'decimal', arg: '0.5' } },
    });
    // Namespaced types: `Ns::Doc.by` is an `Ns::Person`.
    expect(values.entity({ uid: { type: 'Ns::Doc', id: 'd' }, attrs: { by: { type: 'Ns::Person', id: 'u' } }, parents: [] }).attrs).toEqual(
      {
        by: { __entity: { type: 'Ns::Person', id: 'u' } },
      },
    );
  });

  it('a schema that declares no entity or extension values needs no rewrite', () => {
    expect(schemaValues('entity A = { n: Long, s: Set<String> }; action go appliesTo { principal: [A], resource: [A] };')).toBeUndefined();
  });
});

/** `value` with every escape dropped: entities as `{ type, id }`, extension values as their argument or `{ fn, arg }`. */
function unescape(value: CedarValue, asCall: boolean): CedarValue {
  if (Array.isArray(value)) return value.map((v) => unescape(v, asCall));
  if (value === null || typeof value !== 'object') return value;
  const rec = value as Record<string, CedarValue>;
  if ('__entity' in rec) return { ...(rec.__entity as object) } as CedarValue;
  if ('__extn' in rec) {
    const x = rec.__extn as { fn: string; arg?: string };
    return typeof x.arg === 'string' ? (asCall ? { fn: x.fn, arg: x.arg } : x.arg) : value;
  }
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, unescape(v, asCall)]));
}

describe('unescaped values: differential random testing against cedar-wasm given the schema', () => {
  // Random policy sets, entity graphs and requests (the engine's DRT generators); the same data with
  // every escape dropped must decide exactly as Cedar decides the escaped data.
  const sets = Number(process.env.ARGUS_DRT_SETS ?? 1000) / 4;
  it(`decides ${sets * 8} random requests with unescaped entities and context as Cedar`, () => {
    const stats = emptyStats();
    let compared = 0;
    fc.assert(
      fc.property(caseArb({ requests: 8 }), fc.boolean(), (c, asCall) => {
        const compiled = compileCase(c, stats);
        if (!compiled) return;
        const all = new Map(c.entities.map((e) => [uidKey(e.uid), e]));
        const bare = new Map(
          c.entities.map((e): [string, CedarEntity] => [
            uidKey(e.uid),
            {
              ...e,
              attrs: unescape(e.attrs as CedarValue, asCall) as Record<string, CedarValue>,
              ...(e.tags ? { tags: unescape(e.tags as CedarValue, asCall) as Record<string, CedarValue> } : {}),
            },
          ]),
        );
        for (const request of c.requests) {
          const expected = cedarOutcome(c, compiled.policies, compiled.links, request);
          const bareRequest = { ...request, context: unescape(request.context, asCall) as Record<string, CedarValue> };
          expect(argusOutcome(compiled.set, bare, bareRequest)).toEqual(expected);
          expect(argusOutcome(compiled.set, all, request)).toEqual(expected);
          compared++;
        }
      }),
      { numRuns: sets },
    );
    expect(compared).toBeGreaterThan(sets * 4);
  }, 600_000);
});
