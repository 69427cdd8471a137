/**
 * Slicing and pruning never change a decision (issue 21). Argus's production path — compilePolicySet,
 * `now` only when the set reads it, `sliceFor(..., { pruneAttributes: true })`, `contextFor`,
 * `evaluate` without the schema — against raw cedar-wasm given the schema, every entity and the full
 * context (decision, determining policies, erroring policies, after Argus's rule that an erroring
 * forbid denies). Hand-written regressions first, then differential random testing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicySet, formatDiagnostic, uidKey } from './index.ts';
import { caseArb, type GeneratedCase, type GeneratedRequest } from './testing/cedar-arbitraries.ts';
import { argusOutcome, cedarOutcome, emptyStats, runCase } from './testing/drt.ts';
import type { CedarEntity, CedarValue, TemplateLinkInput } from './types.ts';

const SCHEMA = `namespace R {
  entity Group in [Group] { level: Long };
  entity User in [Group] { manager: User, level: Long, secret?: Bool, name: String } tags User;
  entity Doc in [Group] { owner: User } tags Group;
  type Ctx = { now: datetime, who?: User, s?: String };
  action all;
  action read, write in [all] appliesTo { principal: User, resource: Doc, context: Ctx };
}`;
const U = (id: string) => ({ type: 'R::User', id });
const G = (id: string) => ({ type: 'R::Group', id });
const ref = (e: { type: string; id: string }): CedarValue => ({ __entity: e });
const ENTITIES: CedarEntity[] = [
  // alice's manager (and tagged boss) is "boss", who has a secret and no parents (so nothing but a
  // dereference brings him); root, boss's manager, sits under top; lead (alice's tagged team lead)
  // and carol sit in vip, under top; carol is named by no attribute.
  {
    uid: U('alice'),
    attrs: { manager: ref(U('boss')), level: 1, name: 'alice' },
    parents: [G('staff')],
    tags: { boss: ref(U('boss')), team: ref(U('lead')) },
  },
  { uid: U('boss'), attrs: { manager: ref(U('root')), level: 5, secret: true, name: 'boss' }, parents: [], tags: {} },
  { uid: U('root'), attrs: { manager: ref(U('root')), level: 9, secret: true, name: 'root' }, parents: [G('top')], tags: {} },
  { uid: U('lead'), attrs: { manager: ref(U('root')), level: 2, name: 'lead' }, parents: [G('vip')], tags: {} },
  { uid: U('carol'), attrs: { manager: ref(U('root')), level: 0, name: 'carol' }, parents: [G('vip')], tags: {} },
  { uid: U('b o"ss'), attrs: { manager: ref(U('root')), level: 0, secret: true, name: 'odd' }, parents: [], tags: {} },
  { uid: G('staff'), attrs: { level: 1 }, parents: [] },
  { uid: G('vip'), attrs: { level: 2 }, parents: [G('top')] },
  { uid: G('top'), attrs: { level: 3 }, parents: [] },
  { uid: { type: 'R::Doc', id: 'doc' }, attrs: { owner: ref(U('alice')) }, parents: [G('folder')], tags: { g: ref(G('vip')) } },
  { uid: G('folder'), attrs: { level: 0 }, parents: [G('vip')] },
];
const REQUEST: GeneratedRequest = {
  principal: U('alice'),
  action: { type: 'R::Action', id: 'read' },
  resource: { type: 'R::Doc', id: 'doc' },
  context: { now: { __extn: { fn: 'datetime', arg: '2026-12-06T00:00:00Z' } }, who: ref(U('boss')), s: 'x' },
};

/**
 * Each: a forbid (with a permit-all beside it) that fires only if Cedar sees what it reads, or a permit
 * that reads through a dereference.
 */
const REGRESSIONS: Array<{ name: string; policy: string; expect: 'allow' | 'deny'; links?: TemplateLinkInput[] }> = [
  {
    name: 'the issue: parenthesised dereference',
    policy: 'forbid(principal, action, resource) when { (principal.manager) has secret };',
    expect: 'deny',
  },
  {
    name: 'if/then/else dereference',
    policy: 'forbid(principal, action, resource) when { (if context has s then principal.manager else principal) has secret };',
    expect: 'deny',
  },
  {
    name: 'getTag dereference',
    policy: 'forbid(principal, action, resource) when { principal.hasTag("boss") && principal.getTag("boss") has secret };',
    expect: 'deny',
  },
  {
    name: 'getTag dereference in a conditional',
    policy:
      'forbid(principal, action, resource) when { principal.hasTag("boss") && (if true then principal.getTag("boss") else principal) has secret };',
    expect: 'deny',
  },
  {
    name: 'attribute chain through a tag',
    policy: 'forbid(principal, action, resource) when { principal.hasTag("boss") && principal.getTag("boss").manager has secret };',
    expect: 'deny',
  },
  { name: '["name"] access', policy: 'forbid(principal, action, resource) when { principal["manager"] has secret };', expect: 'deny' },
  {
    name: '["name"] access, chained',
    policy: 'forbid(principal, action, resource) when { principal["manager"]["level"] > 3 };',
    expect: 'deny',
  },
  {
    name: 'comment before has',
    policy: 'forbid(principal, action, resource) when { principal.manager // a comment: principal.x["y"]\n has secret };',
    expect: 'deny',
  },
  {
    name: 'comment and line breaks before .',
    policy: 'forbid(principal, action, resource) when { principal\n  // hm\n  .\n  manager\n  .level > 3 };',
    expect: 'deny',
  },
  { name: 'has"x" without a space', policy: 'forbid(principal, action, resource) when { principal.manager has"secret" };', expect: 'deny' },
  { name: 'nested has a.b', policy: 'forbid(principal, action, resource) when { principal has manager.secret };', expect: 'deny' },
  {
    name: 'a string holding [ and has',
    policy: 'forbid(principal, action, resource) when { principal.name != "x[ has secret" && principal.manager has secret };',
    expect: 'deny',
  },
  {
    name: 'a string holding .name',
    policy: 'forbid(principal, action, resource) when { "principal.level" != principal.name && principal.manager.manager has secret };',
    expect: 'deny',
  },
  {
    name: 'entity literal with spaces around ::',
    policy: 'forbid(principal, action, resource) when { R :: User :: "boss" has secret };',
    expect: 'deny',
  },
  {
    name: 'entity literal with an escaped id',
    policy: 'forbid(principal, action, resource) when { R::User::"b\\u{6f}ss".level > 3 };',
    expect: 'deny',
  },
  {
    name: 'entity literal with a quote in its id',
    policy: 'forbid(principal, action, resource) when { R::User::"b o\\"ss" has secret };',
    expect: 'deny',
  },
  {
    name: 'entity literal on the left of in',
    policy: 'forbid(principal, action, resource) when { R::User::"carol" in R::Group::"top" };',
    expect: 'deny',
  },
  {
    name: 'attribute value on the left of in',
    policy: 'forbid(principal, action, resource) when { principal.manager.manager in R::Group::"top" };',
    expect: 'deny',
  },
  {
    name: 'context entity on the left of in',
    policy: 'forbid(principal, action, resource) when { context has who && context.who.manager in R::Group::"top" };',
    expect: 'deny',
  },
  {
    name: 'context entity dereferenced',
    policy: 'forbid(principal, action, resource) when { context has who && context.who has secret };',
    expect: 'deny',
  },
  {
    name: 'another action literal in a condition',
    policy: 'forbid(principal, action, resource) when { R::Action::"write" in R::Action::"all" };',
    expect: 'deny',
  },
  {
    name: 'action group in a condition',
    policy: 'forbid(principal, action, resource) when { action in R::Action::"all" };',
    expect: 'deny',
  },
  {
    name: 'group membership through a tag value',
    policy: 'forbid(principal, action, resource) when { principal.hasTag("team") && principal.getTag("team") in R::Group::"top" };',
    expect: 'deny',
  },
  {
    name: 'group membership of a resource tag value',
    policy: 'forbid(principal, action, resource) when { resource.hasTag("g") && resource.getTag("g") in R::Group::"top" };',
    expect: 'deny',
  },
  {
    name: 'escaped now',
    policy: 'forbid(principal, action, resource) when { context["n\\u{6f}w"] > datetime("2000-01-01") };',
    expect: 'deny',
  },
  {
    name: 'now through a conditional context',
    policy: 'forbid(principal, action, resource) when { (if true then context else context)["n\\u{6f}w"] > datetime("2000-01-01") };',
    expect: 'deny',
  },
  {
    name: 'context as a whole value',
    policy: 'forbid(principal, action, resource) when { {c: context}.c["n\\u{6f}w"] > datetime("2000-01-01") };',
    expect: 'deny',
  },
  {
    name: 'record literal field dereferenced',
    policy: 'forbid(principal, action, resource) when { {m: principal.manager}.m has secret };',
    expect: 'deny',
  },
  {
    name: 'set literal membership then literal read',
    policy: 'forbid(principal, action, resource) when { [principal.manager].contains(R::User::"boss") && R::User::"boss".level > 3 };',
    expect: 'deny',
  },
  {
    name: 'is ... in with an attribute on the left',
    policy: 'forbid(principal, action, resource) when { principal.manager.manager is R::User in R::Group::"top" };',
    expect: 'deny',
  },
  { name: 'resource ancestors two levels up', policy: 'forbid(principal, action, resource in R::Group::"top");', expect: 'deny' },
  {
    name: 'template slot value as an ancestor',
    policy: '@id("t") forbid(principal, action, resource in ?resource);',
    expect: 'deny',
    links: [{ templateId: 't', linkId: 't-top', values: { '?resource': G('top') } }],
  },
  {
    name: 'permit reading through a parenthesised dereference',
    policy: 'permit(principal, action, resource) when { (principal.manager).level > 0 };',
    expect: 'allow',
  },
  {
    name: 'permit reading through a conditional',
    policy: 'permit(principal, action, resource) when { (if 1 > 0 then principal.manager else principal).level > 4 };',
    expect: 'allow',
  },
  {
    name: 'permit through a tag chain',
    policy: 'permit(principal, action, resource) when { principal.hasTag("boss") && principal.getTag("boss").manager.level == 9 };',
    expect: 'allow',
  },
];

function regressionCase(policy: string, links: TemplateLinkInput[] = []): { c: GeneratedCase; ids: string[] } {
  const policies = [
    { id: 'base', text: '@id("base") permit(principal, action, resource);', template: false },
    {
      id: policy.startsWith('@id("t")') ? 't' : 'case',
      text: policy.startsWith('@id') ? policy : `@id("case") ${policy}`,
      template: policy.includes('?resource'),
    },
  ];
  // A permit case stands alone: no permit-all beside it.
  const used = policy.startsWith('permit') ? policies.slice(1) : policies;
  return { c: { schema: SCHEMA, policies: used, links, entities: ENTITIES, requests: [REQUEST] }, ids: used.map((p) => p.id) };
}

describe('slicing and pruning: hand-written regressions (issue 21)', () => {
  for (const r of REGRESSIONS) {
    it(`${r.name} → ${r.expect}`, () => {
      const { c } = regressionCase(r.policy, r.links);
      const compiled = compilePolicySet({
        schema: SCHEMA,
        policies: [{ file: 'r.cedar', text: c.policies.map((p) => p.text).join('\n') }],
        links: c.links,
      });
      if (!compiled.ok) throw new Error(compiled.diagnostics.map(formatDiagnostic).join('\n'));
      const all = new Map(ENTITIES.map((e) => [uidKey(e.uid), e]));
      const ours = argusOutcome(compiled.policySet, all, REQUEST);
      const reference = cedarOutcome(c, c.policies, c.links, REQUEST);
      expect(reference).toMatchObject({ decision: r.expect });
      expect(ours).toEqual(reference);
    });
  }

  it('no regex over the text: a policy that only mentions a name in a string or comment reads nothing', () => {
    const r = compilePolicySet({
      schema: SCHEMA,
      policies: [
        {
          file: 'x.cedar',
          text: '// principal.manager.secret context.now\npermit(principal, action, resource) when { "context.now principal.level has x" like "*" };',
        },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policySet.mentionsNow).toBe(false);
    expect([...r.policySet.reads.attributeNames]).toEqual([]);
    expect(r.policySet.reads).toMatchObject({ unbounded: false, tags: false, contextWhole: false });
  });
});

describe('analyseReads: what the JSON form says a set can read', () => {
  const readsOf = (policy: string) => {
    const r = compilePolicySet({ schema: SCHEMA, policies: [{ file: 'x.cedar', text: policy }] });
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    return r.policySet.reads;
  };

  it('records dereferenced names along paths, tags, literals and actions', () => {
    const r = readsOf(
      'permit(principal, action in [R::Action::"all"], resource) when { principal.hasTag("boss") && principal.getTag("boss").manager.level > 0 && principal.manager in R :: Group :: "g" };',
    );
    expect([...r.dereferenced].sort()).toEqual(['manager']);
    expect(r).toMatchObject({ tags: true, tagsDereferenced: true, unbounded: false, opaque: false, contextWhole: false, now: false });
    expect([...r.literals].sort()).toEqual(['R::Action::"all"', 'R::Group::"g"']);
    expect([...r.actions]).toEqual(['R::Action::"all"']);
    expect([...r.attributeNames].sort()).toEqual(['level', 'manager']);
  });

  it('keeps everything reachable when a dereference cannot be bounded, and the whole context when it is a value', () => {
    expect(readsOf('permit(principal, action, resource) when { {m: principal.manager}.m has secret };')).toMatchObject({
      unbounded: true,
      contextWhole: false,
    });
    expect(readsOf('permit(principal, action, resource) when { (if true then context else context) has s };')).toMatchObject({
      contextWhole: true,
      now: true,
    });
    expect(readsOf('permit(principal, action, resource) when { context has s && context.s == "now" };')).toMatchObject({
      contextWhole: false,
      now: false,
    });
  });

  it('passes over a malformed entity reference instead of throwing (Cedar refuses the request itself)', async () => {
    const { sliceFor } = await import('./evaluate.ts');
    const compiled = compilePolicySet({
      schema: 'entity U { v: Long }; action a appliesTo { principal: [U], resource: [U], context: { e?: U } };',
      policies: [{ file: 'q.cedar', text: '@id("q") permit(principal, action, resource) when { context has e && context.e.v == 1 };' }],
    });
    if (!compiled.ok) throw new Error(compiled.diagnostics.map(formatDiagnostic).join('\n'));
    const u = { type: 'U', id: 'u' };
    const all = new Map<string, CedarEntity>([[uidKey(u), { uid: u, attrs: { v: 1, w: { __entity: null } as never }, parents: [] }]]);
    const slice = sliceFor(compiled.policySet, all, [u], { e: { __entity: null } }, { pruneAttributes: true });
    expect(slice.map((e) => uidKey(e.uid))).toEqual([uidKey(u)]);
  });

  it('an unknown JSON form leaves nothing out', async () => {
    const { analyseReads } = await import('./reads.ts');
    const r = analyseReads([
      {
        principal: { op: 'All' },
        action: { op: 'All' },
        resource: { op: 'All' },
        conditions: [{ kind: 'when', body: { mystery: { x: 1 } } }],
      },
    ]);
    expect(r).toMatchObject({ opaque: true, unbounded: true, contextWhole: true, now: true, tags: true });
  });
});

/** EST node kinds the generator must keep producing: every expression form of Cedar's JSON grammar. */
const FORMS = [
  'Value:boolean',
  'Value:number',
  'Value:string',
  'entityLiteral',
  'Var:principal',
  'Var:action',
  'Var:resource',
  'Var:context',
  'slot',
  '!',
  'neg',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  'in',
  'contains',
  'containsAll',
  'containsAny',
  'isEmpty',
  'getTag',
  'hasTag',
  '.',
  'has',
  'is',
  'is-in',
  'like',
  'if-then-else',
  'Set',
  'Record',
  'decimal',
  'ip',
  'datetime',
  'duration',
  'lessThan',
  'lessThanOrEqual',
  'greaterThan',
  'greaterThanOrEqual',
  'isIpv4',
  'isIpv6',
  'isLoopback',
  'isMulticast',
  'isInRange',
  'offset',
  'durationSince',
  'toDate',
  'toTime',
  'toDays',
  'toHours',
  'toMinutes',
  'toSeconds',
  'toMilliseconds',
  'scope:All',
  'scope:==',
  'scope:in',
  'scope:is',
] as const;

describe('slicing and pruning: differential random testing against raw cedar-wasm', () => {
  // 1,000 random policy sets (1-4 policies/templates each, with links) over random entity graphs,
  // 20 random requests each: 20,000 compared decisions. ARGUS_DRT_SETS changes the number of sets.
  const sets = Number(process.env.ARGUS_DRT_SETS ?? 1000);
  const requests = 20;

  it(`decides ${sets * requests} random requests exactly as Cedar with every entity does`, () => {
    const stats = emptyStats();
    fc.assert(
      fc.property(caseArb({ requests }), (c) => {
        const before = stats.mismatches.length;
        runCase(c, stats, { coverage: true, reference: 'preparsed' });
        const m = stats.mismatches[before];
        if (m) {
          throw new Error(
            `mismatch: argus ${JSON.stringify(m.argus)} cedar ${JSON.stringify(m.cedar)}\nrequest ${JSON.stringify(m.request)}\n${m.policies.map((p) => p.text).join('\n')}\nlinks ${JSON.stringify(m.links)}`,
          );
        }
      }),
      { numRuns: sets },
    );
    const compared = stats.cases;
    const { mismatches, coverage, ...counts } = stats;
    console.info(`drt: ${JSON.stringify({ ...counts, mismatches: mismatches.length, forms: Object.keys(coverage).length })}`);
    expect(stats.mismatches).toEqual([]);
    // Strict validation refuses few generated policies (the rest are compared).
    expect(stats.rejectedPolicies / stats.generatedPolicies).toBeLessThan(0.1);
    expect(compared).toBeGreaterThanOrEqual(sets * requests * 0.85);
    // Both outcomes and erroring policies occur often enough to mean something.
    expect(stats.allows).toBeGreaterThan(compared * 0.05);
    expect(stats.denies).toBeGreaterThan(compared * 0.05);
    expect(stats.withErrors).toBeGreaterThan(compared * 0.01);
    // Every expression form of the JSON grammar was generated (and accepted) many times.
    // (At the default 1,000 sets each form is seen 15 to 700 times; a generator regression fails here.)
    const minimum = Math.max(1, Math.floor(sets / 200));
    const missing = FORMS.filter((f) => (stats.coverage[f] ?? 0) < minimum);
    expect(missing, JSON.stringify(stats.coverage)).toEqual([]);
  }, 1_800_000);
});
