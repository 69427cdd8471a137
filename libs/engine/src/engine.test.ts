import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compilePolicySet,
  contextFor,
  DecisionMemo,
  evaluate,
  formatDiagnostic,
  sliceEntities,
  sliceFor,
  uidKey,
  type CompiledPolicySet,
} from './index.ts';
import { CALL, READ, SCHEMA, WRITE, setOf, uid, world } from './testdata/fixtures.ts';
import type { CedarEntity, EntityUid, EvaluationRequest } from './types.ts';

const BASE = `
@id("trusted-call-for-intent")
@reason("trusted agents call tools for their intents")
permit (principal is T::Agent, action == T::Action::"call", resource is T::Tool)
when { principal.trust == "trusted" && resource.intents.contains(context.intent) };

@id("no-secret")
@reason("secret tools are off limits")
forbid (principal, action, resource is T::Tool) when { resource.sensitivity == "secret" };

permit (principal in T::Human::"alice", action == T::Action::"read", resource in T::Server::"s1");
`;

function compile(files: Record<string, string>): CompiledPolicySet {
  const r = compilePolicySet(setOf(files));
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.policySet;
}

function request(
  principal: string,
  action: EntityUid,
  resource: string,
  context: Record<string, unknown> = { intent: 'research', depth: 1 },
): EvaluationRequest {
  const all = new Map(world().map((e) => [uidKey(e.uid), e]));
  const p = uid('Agent', principal);
  const r = uid('Tool', resource);
  return { principal: p, action, resource: r, context: context as EvaluationRequest['context'], entities: sliceEntities(all, [p, r]) };
}

describe('compilePolicySet', () => {
  it('assigns @id ids, else file#n, and reads annotations', () => {
    const set = compile({ 'base.cedar': BASE });
    expect([...set.policies.keys()].sort()).toEqual(['base.cedar#3', 'no-secret', 'trusted-call-for-intent']);
    expect(set.policies.get('no-secret')).toMatchObject({
      effect: 'forbid',
      file: 'base.cedar',
      line: 7,
      annotations: { reason: 'secret tools are off limits' },
    });
  });

  it('versions by content: same text same version, any change a new one', () => {
    expect(compile({ 'a.cedar': BASE }).version).toBe(compile({ 'a.cedar': BASE }).version);
    expect(compile({ 'a.cedar': BASE }).version).not.toBe(compile({ 'a.cedar': BASE + '\n// edit' }).version);
  });

  it('refuses the whole set with file, line and column for a type error', () => {
    const bad = `permit (principal, action == T::Action::"call", resource)\nwhen { principal.trsut == "x" };`;
    const r = compilePolicySet(setOf({ 'good.cedar': BASE, 'bad.cedar': bad }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const d = r.diagnostics.find((x) => x.file === 'bad.cedar');
    expect(d).toBeDefined();
    expect(d!.line).toBe(2);
    expect(d!.column).toBeGreaterThan(1);
    expect(d!.message).toMatch(/trsut/);
    expect(formatDiagnostic(d!)).toMatch(/^bad\.cedar:2:\d+: error: /);
  });

  it('validates every file in one call and still locates each error in its own file, files in order', () => {
    const first = `// a comment line\npermit (principal, action == T::Action::"call", resource)\nwhen { principal.trsut == "x" };`;
    const second = `${BASE}\n@id("late")\npermit (principal, action == T::Action::"call", resource)\nwhen { resource.sensitivty == "x" };`;
    const r = compilePolicySet(setOf({ 'b.cedar': second, 'a.cedar': first }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => [d.file, d.line, d.policyId])).toEqual([
      ['a.cedar', 3, 'a.cedar#1'],
      ['b.cedar', BASE.split('\n').length + 3, 'late'],
    ]);
    expect(r.diagnostics[0]!.message).toMatch(/trsut/);
    expect(r.diagnostics[1]!.message).toMatch(/sensitivty/);
    expect(r.diagnostics[1]!.excerpt).toMatch(/sensitivty/);
  });

  it("hands each policy's JSON form to compiled evaluation", () => {
    const set = compile({ 'base.cedar': BASE });
    expect([...set.policyJson.keys()].sort()).toEqual([...set.policies.keys()].sort());
    expect(set.policyJson.get('no-secret')).toEqual((cedar.policyToJson(set.staticTexts.get('no-secret')!) as { json: unknown }).json);
  });

  it('refuses a syntax error with its location', () => {
    const r = compilePolicySet(setOf({ 'x.cedar': 'permit (principal, action, resource)\nwhen { 1 == };' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0]).toMatchObject({ file: 'x.cedar', line: 2 });
  });

  it("refuses an unknown action and passes on Cedar's hint", () => {
    const r = compilePolicySet(setOf({ 'x.cedar': 'permit (principal, action == T::Action::"reed", resource);' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0]!.help).toMatch(/read/);
  });

  it('refuses duplicate ids and a bad schema', () => {
    const dup = '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);';
    const r = compilePolicySet(setOf({ 'x.cedar': dup }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0]!.message).toMatch(/duplicate policy id `a`/);
    const s = compilePolicySet({ schema: 'namespace {', policies: [] });
    expect(s.ok).toBe(false);
  });
});

describe('evaluate', () => {
  const set = compile({ 'base.cedar': BASE });

  it('allows when a permit is satisfied and names it', () => {
    const d = evaluate(set, request('sub', CALL, 'search'));
    expect(d.decision).toBe('allow');
    expect(d.determining.map((p) => p.id)).toEqual(['trusted-call-for-intent']);
  });

  it('denies when a forbid is satisfied and names the forbid', () => {
    const d = evaluate(set, request('sub', CALL, 'vault'));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['no-secret']);
  });

  it('denies by default when nothing permits', () => {
    const d = evaluate(set, request('rogue', CALL, 'search'));
    expect(d).toMatchObject({ decision: 'deny', determining: [] });
  });

  it('denies everything on an empty set', () => {
    const empty = compile({});
    expect(evaluate(empty, request('sub', CALL, 'search'))).toMatchObject({ decision: 'deny', determining: [], evaluated: 0 });
  });

  it('honours hierarchy: principal in Human through two agent hops', () => {
    expect(evaluate(set, request('sub', READ, 'search')).decision).toBe('allow');
    expect(evaluate(set, request('rogue', READ, 'search')).decision).toBe('deny');
    expect(evaluate(set, request('sub', READ, 'loose')).decision).toBe('deny');
  });

  it('turns an erroring forbid into a deny, and says so', () => {
    const s = compile({
      'p.cedar': BASE,
      'overflow.cedar': '@id("overflowing-forbid")\nforbid (principal, action, resource) when { context.depth * 9223372036854775807 > 0 };',
    });
    const d = evaluate(s, request('sub', CALL, 'search', { intent: 'research', depth: 2 }));
    expect(d.decision).toBe('deny');
    expect(d.errors).toEqual([expect.objectContaining({ policyId: 'overflowing-forbid', code: 'forbid_errored' })]);
    expect(d.determining.map((p) => p.id)).toEqual(['overflowing-forbid']);
    // The same forbid without the overflow does not fire and the permit decides.
    expect(evaluate(s, request('sub', CALL, 'search', { intent: 'research', depth: 0 })).decision).toBe('allow');
  });

  it('denies with an error when the request does not fit the schema', () => {
    const d = evaluate(set, request('sub', CALL, 'search', { intent: 42, depth: 1 }));
    expect(d.decision).toBe('deny');
    expect(d.errors[0]?.code).toBe('evaluation_failed');
  });

  it('expands action groups from the schema', () => {
    const s = compile({ 'g.cedar': '@id("all-group") permit (principal, action in [T::Action::"all"], resource);' });
    expect(evaluate(s, request('sub', WRITE, 'search')).decision).toBe('allow');
    expect(evaluate(s, request('sub', CALL, 'search')).decision).toBe('deny');
  });

  it('evaluates template-linked policies', () => {
    const r = compilePolicySet(
      setOf({ 't.cedar': '@id("grant") permit (principal == ?principal, action == T::Action::"call", resource in ?resource);' }, [
        { templateId: 'grant', linkId: 'grant-sub-s1', values: { '?principal': uid('Agent', 'sub'), '?resource': uid('Server', 's1') } },
      ]),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(evaluate(r.policySet, request('sub', CALL, 'vault')).determining.map((p) => p.id)).toEqual(['grant-sub-s1']);
    expect(evaluate(r.policySet, request('planner', CALL, 'vault')).decision).toBe('deny');
  });
});

// Partitioning must never change an answer: compare against cedar-wasm given every policy and every entity.
describe('partitioned evaluation equals whole-set evaluation', () => {
  const agents = ['planner', 'sub', 'rogue'];
  const tools = ['search', 'vault', 'loose'];
  const policyArb = fc.record({
    effect: fc.constantFrom('permit', 'forbid'),
    principal: fc.constantFrom(
      'principal',
      'principal is T::Agent',
      'principal == T::Agent::"sub"',
      'principal in T::Human::"alice"',
      'principal in T::Agent::"planner"',
      'principal is T::Agent in T::Human::"bob"',
    ),
    action: fc.constantFrom(
      'action',
      'action == T::Action::"call"',
      'action == T::Action::"read"',
      'action in [T::Action::"call", T::Action::"write"]',
      'action in [T::Action::"all"]',
    ),
    resource: fc.constantFrom(
      'resource',
      'resource is T::Tool',
      'resource == T::Tool::"vault"',
      'resource in T::Server::"s1"',
      'resource is T::Tool in T::Server::"s1"',
    ),
    when: fc.constantFrom(
      'true',
      'resource.sensitivity == "secret"',
      'principal.trust == "trusted"',
      'context.intent == "research"',
      'principal.level > 1',
      'principal in T::Human::"alice"',
      'resource in T::Server::"s1"',
      'principal has boss && principal.boss.level > 0',
      'principal has boss && principal.boss in T::Human::"alice"',
      'T::Agent::"planner".level > 1',
      'T::Tool::"vault".sensitivity == "secret"',
      'resource["sensitivity"] == "secret"',
      'context has depth && context.depth > 0',
      'principal has "level" && principal["level"] > 1',
      'principal has trust',
    ),
  });
  const all = world();
  const allMap = new Map(all.map((e) => [uidKey(e.uid), e]));

  it('for random policy sets and requests', () => {
    fc.assert(
      fc.property(
        fc.array(policyArb, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...agents),
        fc.constantFrom(CALL, READ, WRITE),
        fc.constantFrom(...tools),
        (policies, principal, action, resource) => {
          const text = policies
            .map((p, i) => `@id("p${i}") ${p.effect} (${p.principal}, ${p.action}, ${p.resource}) when { ${p.when} };`)
            .join('\n');
          const set = compile({ 'r.cedar': text });
          const req: EvaluationRequest = {
            principal: uid('Agent', principal),
            action,
            resource: uid('Tool', resource),
            context: { intent: 'research', depth: 1 },
            entities: [],
          };
          // Partitioned policies and the pruned slice must decide exactly as every policy over every entity does.
          // Attributes and context keys no policy reads are left out too, as the decision point does.
          req.entities = sliceFor(set, allMap, [req.principal, req.resource], req.context, { pruneAttributes: true });
          const fullContext = req.context;
          req.context = contextFor(set, req.context);
          const ours = evaluate(set, req, { validateRequest: false });
          // A memoised answer (first a miss, then a hit on an equal input) is the same answer.
          const memo = new DecisionMemo(8);
          const viaMemo = [
            evaluate(set, req, { validateRequest: false, memo }),
            evaluate(set, { ...req, context: { ...req.context } }, { validateRequest: false, memo }),
          ];
          expect(memo.stats()).toMatchObject({ hits: 1, misses: 1 });
          for (const m of viaMemo) expect(m).toEqual(ours);
          const whole = cedar.isAuthorized({
            ...req,
            context: fullContext,
            entities: all as CedarEntity[],
            policies: { staticPolicies: Object.fromEntries(set.staticTexts) },
            schema: SCHEMA,
            validateRequest: false,
          });
          expect(whole.type, JSON.stringify(whole).slice(0, 600)).toBe('success');
          if (whole.type !== 'success') return;
          expect(ours.decision).toBe(whole.response.decision);
          expect(ours.determining.map((p) => p.id).sort()).toEqual([...whole.response.diagnostics.reason].sort());
          expect(ours.evaluated).toBeLessThanOrEqual(set.policies.size);
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);

  it('meets only the policies whose scope can match', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++)
      files[`t${i}.cedar`] = `@id("t${i}") permit (principal, action == T::Action::"call", resource == T::Tool::"tool${i}");`;
    files['generic.cedar'] = BASE;
    const set = compile(files);
    const d = evaluate(set, request('sub', CALL, 'search'));
    expect(d.decision).toBe('allow');
    expect(d.evaluated).toBeLessThanOrEqual(3);
  });
});

describe('sliceEntities', () => {
  it('takes principal, resource, their ancestors and context references only', () => {
    const all = new Map(world().map((e) => [uidKey(e.uid), e]));
    const slice = sliceEntities(all, [uid('Agent', 'sub'), uid('Tool', 'search')], { who: { __entity: uid('Human', 'bob') } });
    expect(slice.map((e) => e.uid.id).sort()).toEqual(['alice', 'bob', 'planner', 's1', 'search', 'sub']);
  });
});

describe('contextFor and attribute pruning', () => {
  it('keeps only the context keys and attributes some policy can read', () => {
    const s = compile({
      'c.cedar': '@id("c") permit (principal, action, resource) when { context has intent && principal.trust == "trusted" };',
    });
    expect(contextFor(s, { intent: 'research', depth: 1 })).toEqual({ intent: 'research' });
    const all = new Map(world().map((e) => [uidKey(e.uid), e]));
    const slice = sliceFor(s, all, [uid('Agent', 'sub'), uid('Tool', 'search')], {}, { pruneAttributes: true });
    for (const e of slice) for (const name of Object.keys(e.attrs)) expect(['trust']).toContain(name);
    // Without the option the slice keeps every attribute.
    expect(sliceFor(s, all, [uid('Agent', 'sub')], {}).find((e) => e.uid.id === 'sub')!.attrs).toEqual(
      all.get(uidKey(uid('Agent', 'sub')))!.attrs,
    );
  });

  it('keeps the whole context when a policy may use it as a value', () => {
    const s = compile({
      'w.cedar': '@id("w") permit (principal, action, resource) when { context == {"intent": "research", "depth": 1} };',
    });
    expect(s.reads.contextWhole).toBe(true);
    expect(contextFor(s, { intent: 'research', depth: 1 })).toEqual({ intent: 'research', depth: 1 });
  });
});

describe('DecisionMemo', () => {
  const set = compile({ 'base.cedar': BASE });

  it('answers a repeated input from memory, exactly as Cedar does, and keys on every fact', () => {
    const memo = new DecisionMemo(100);
    const allow = request('sub', CALL, 'search');
    const first = evaluate(set, allow, { memo });
    const again = evaluate(set, request('sub', CALL, 'search'), { memo });
    expect(again).toBe(first);
    expect(again).toEqual(evaluate(set, allow));
    expect(memo.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
    // A changed fact (an attribute of the principal, a context value) is another input.
    const untrusted = request('sub', CALL, 'search');
    untrusted.entities = untrusted.entities.map((e) => (e.uid.id === 'sub' ? { ...e, attrs: { ...e.attrs, trust: 'revoked' } } : e));
    expect(evaluate(set, untrusted, { memo })).toEqual(evaluate(set, untrusted));
    expect(evaluate(set, request('sub', CALL, 'search', { intent: 'other', depth: 1 }), { memo }).decision).toBe(
      evaluate(set, request('sub', CALL, 'search', { intent: 'other', depth: 1 })).decision,
    );
    expect(memo.stats().misses).toBe(3);
    // Answers are shared, so they cannot be changed.
    expect(() => (first.determining as unknown[]).push('x')).toThrow();
  });

  it('keys on the policy set version, stays within its bound, and can be off', () => {
    const memo = new DecisionMemo(2);
    const other = compile({ 'base.cedar': BASE + '\n@id("nothing-for-rogue") forbid (principal == T::Agent::"sub", action, resource);' });
    expect(evaluate(set, request('sub', CALL, 'search'), { memo }).decision).toBe('allow');
    expect(evaluate(other, request('sub', CALL, 'search'), { memo }).decision).toBe('deny');
    evaluate(set, request('sub', CALL, 'vault'), { memo });
    expect(memo.stats()).toMatchObject({ misses: 3, size: 2 });
    const off = new DecisionMemo(0);
    evaluate(set, request('sub', CALL, 'search'), { memo: off });
    evaluate(set, request('sub', CALL, 'search'), { memo: off });
    expect(off.stats()).toMatchObject({ hits: 0, skipped: 2, size: 0 });
  });

  it('evicts the least recently used answer, a hit counting as a use', () => {
    const memo = new DecisionMemo(2);
    evaluate(set, request('sub', CALL, 'search'), { memo });
    evaluate(set, request('sub', CALL, 'vault'), { memo });
    evaluate(set, request('sub', CALL, 'search'), { memo });
    evaluate(set, request('sub', READ, 'search'), { memo });
    expect(memo.stats()).toMatchObject({ hits: 1, misses: 3, size: 2 });
    evaluate(set, request('sub', CALL, 'search'), { memo });
    expect(memo.stats()).toMatchObject({ hits: 2, misses: 3 });
    evaluate(set, request('sub', CALL, 'vault'), { memo });
    expect(memo.stats()).toMatchObject({ hits: 2, misses: 4 });
  });

  it('does not memoise sets that read the clock', () => {
    const timed = compile({
      't.cedar': '@id("t") permit (principal, action, resource) when { context has now && context.now > datetime("2020-01-01") };',
    });
    const memo = new DecisionMemo(10);
    evaluate(timed, request('sub', CALL, 'search'), { memo, validateRequest: false });
    expect(memo.stats()).toMatchObject({ skipped: 1, size: 0 });
  });
});
