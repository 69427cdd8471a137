import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompiledPolicies, type CedarRequest } from './authorize.ts';
import { compiledPolicies, evaluateCompiled, verificationStats, type CompiledMismatch, type PolicyTexts } from './index.ts';
import { evaluate } from '../evaluate.ts';
import { compilePolicySet } from '../policy-set.ts';
import { drtCase } from './testing/drt-arbitraries.ts';
import { emptyStats, runCase, runGeneratedCase } from './testing/drt.ts';
import { caseArb } from '../testing/cedar-arbitraries.ts';
import { parseDatetime, parseDecimal, parseDuration, parseIp, Ext, Ip } from './values.ts';

const U = { type: 'A::U', id: 'u' };
const R = { type: 'A::R', id: 'r' };
const X = { type: 'A::Action', id: 'x' };

/** Both evaluators on one policy set and request: the compiled answer (or undefined) and cedar-wasm's. */
function both(policies: Record<string, string>, request: Partial<CedarRequest> = {}) {
  const req: CedarRequest = {
    principal: U,
    action: X,
    resource: R,
    context: {},
    entities: [{ uid: U, attrs: {}, parents: [] }],
    ...request,
  };
  const ours = new CompiledPolicies({ staticTexts: new Map(Object.entries(policies)), templateTexts: new Map(), links: [] }).authorize(
    Object.keys(policies),
    req,
  );
  const oracle = cedar.isAuthorized({ ...req, entities: req.entities as never, policies: { staticPolicies: policies } } as never);
  return { ours: ours?.response, oracle: oracle.type === 'success' ? oracle.response : undefined };
}

const when = (cond: string) => ({ p: `permit (principal, action, resource) when { ${cond} };` });

describe('compiled evaluation: semantics checked against cedar-wasm', () => {
  it.each([
    ['9007199254740991 * 9007199254740991 == 0', 'overflow: an error'],
    ['-(context.n * 3037000500) * context.n == 0 || true', 'overflow by multiplication, negative'],
    ['principal.missing == 1', 'missing attribute: an error'],
    ['A::Z::"z".a == 1', 'missing entity: an error'],
    ['1 && true', 'non-bool in &&: a type error'],
    ['false && (1 == 1 + "a")', '&& short-circuits'],
    ['"a*b" like "a\\*b"', 'escaped star in like'],
    ['"aXYZb" like "a*b"', 'wildcard in like'],
    ['[1, [2, 3]] == [[3, 2], 1, 1]', 'sets: unordered, nested, deduplicated'],
    ['{a: 1, b: [true]} == {b: [true], a: 1}', 'records'],
    ['decimal("1.0") == decimal("1.0000")', 'decimal equality by value'],
    ['decimal("1.0") < decimal("2.0")', 'decimal `<`: a type error in Cedar 4.13'],
    ['datetime("2024-01-01T00:00:00+0100") < datetime("2024-01-01")', 'datetime `<` with offsets'],
    ['duration("1d").toHours() == 24', 'duration methods'],
    ['ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) && !ip("10.0.0.1/8").isLoopback()', 'ip methods'],
    ['ip("10.0.0.1/8") == ip("10.0.0.0/8")', 'ip equality keeps the written address'],
    ['principal in [principal, 1]', 'in over a set with a non-entity: a type error'],
    ['principal has a.b', 'nested has'],
    ['(if principal has a then 1 else "x") == "x"', 'if-then-else'],
    ['principal.getTag("t") == 1', 'missing tag: an error'],
    [
      'datetime("2024-03-10").toDate() == datetime("2024-03-10") && datetime("1969-12-31T12:00:00Z").toTime() == duration("12h")',
      'toDate, toTime before the epoch',
    ],
  ])('%s (%s)', (cond) => {
    const { ours, oracle } = both(when(cond), { context: { n: 3037000500 } });
    expect(oracle).toBeDefined();
    expect(ours).toBeDefined();
    expect({ decision: ours!.decision, reason: ours!.diagnostics.reason, errors: ours!.diagnostics.errors.map((e) => e.policyId) }).toEqual(
      {
        decision: oracle!.decision,
        reason: oracle!.diagnostics.reason,
        errors: oracle!.diagnostics.errors.map((e) => e.policyId),
      },
    );
  });

  it('forbid beats permit; no satisfied policy denies; erroring policies are skipped and reported', () => {
    const policies = {
      allow: 'permit (principal, action, resource);',
      stop: 'forbid (principal == A::U::"u", action, resource) when { context.n > 1 };',
      broken: 'forbid (principal, action, resource) when { principal.nope };',
    };
    const a = both(policies, { context: { n: 2 } });
    expect(a.ours).toEqual(
      a.oracle && { decision: 'deny', diagnostics: { reason: ['stop'], errors: [expect.objectContaining({ policyId: 'broken' })] } },
    );
    expect(a.oracle!.diagnostics.reason).toEqual(['stop']);
    const b = both(policies, { context: { n: 0 } });
    expect(b.ours!.decision).toBe('allow');
    expect(b.oracle!.decision).toBe('allow');
  });

  it('gives up (cedar-wasm answers) on a Long beyond 2^53, an input Cedar refuses, and unsupported forms', () => {
    expect(both(when('9007199254740991 + 2 > 0')).ours).toBeUndefined();
    expect(both(when('context.n == 1'), { context: { n: 1.5 } }).ours).toBeUndefined();
    expect(both(when('true'), { entities: [{ uid: U, attrs: {}, parents: [U] }] }).ours).toBeUndefined();
    expect(both(when('ip(context.s).isIpv4()'), { context: { s: '1.2.3.4' } }).ours).toBeUndefined();
  });

  it('reads extension strings exactly as Cedar, and refuses what Cedar refuses', () => {
    expect((parseDecimal('-1.5') as Ext).n).toBe(-15000n);
    expect(parseDecimal('1.23456')).toBeInstanceOf(Error);
    expect((parseDuration('-1d2h') as Ext).n).toBe(-(86_400_000n + 7_200_000n));
    expect(parseDuration('1h1d')).toBeInstanceOf(Error);
    expect((parseDatetime('1970-01-02T00:00:00+0100') as Ext).n).toBe(82_800_000n);
    expect(parseDatetime('2023-02-29')).toBeInstanceOf(Error);
    expect(parseIp('10.0.0.1/08')).toBeInstanceOf(Error);
    expect((parseIp('::1') as Ip).addr).toBe(1n);
    expect(parseIp('::ffff:1.2.3.4')).toBeInstanceOf(Error);
  });
});

describe('differential random testing against cedar-wasm', () => {
  it('agrees with cedar-wasm on ≥ 20,000 generated requests (decision, determining and erroring policies)', () => {
    const stats = emptyStats();
    fc.assert(
      fc.property(drtCase, (c) => {
        runCase(c, stats);
        if (stats.mismatches.length > 0) throw new Error(`mismatch: ${JSON.stringify(stats.mismatches[0])}`);
      }),
      { numRuns: 3_500, seed: Number(process.env.DRT_SEED ?? 20261206) },
    );
    expect(stats.cases).toBeGreaterThanOrEqual(20_000);
    expect(stats.unparsed).toBeLessThan(20);
    // The compiled path must be what is tested: few requests may go to cedar-wasm.
    expect(stats.fallbacks + stats.oracleFailures).toBeLessThan(stats.cases * 0.1);
    expect(stats.allow).toBeGreaterThan(stats.cases * 0.05);
    expect(stats.withErrors).toBeGreaterThan(stats.cases * 0.05);
  }, 600_000);

  it("agrees with cedar-wasm on the engine's shared generator too (every EST form, syntax variants)", () => {
    const stats = emptyStats();
    fc.assert(
      fc.property(caseArb(), (c) => {
        runGeneratedCase(c, stats);
        if (stats.mismatches.length > 0) throw new Error(`mismatch: ${JSON.stringify(stats.mismatches[0])}`);
      }),
      { numRuns: 400, seed: Number(process.env.DRT_SEED ?? 20261206) },
    );
    expect(stats.cases).toBeGreaterThanOrEqual(3_000);
    expect(stats.fallbacks + stats.oracleFailures).toBeLessThan(stats.cases * 0.15);
  }, 600_000);
});

describe('online verification', () => {
  const tick = () => new Promise((r) => setImmediate(r));
  const req: CedarRequest = { principal: U, action: X, resource: R, context: { n: 2 }, entities: [{ uid: U, attrs: {}, parents: [] }] };

  it('re-evaluates sampled decisions with cedar-wasm after answering; a mismatch is reported and switches the set back', async () => {
    const staticTexts = new Map([['p', 'permit (principal, action, resource) when { context.n > 1 };']]);
    const set: PolicyTexts = { staticTexts, templateTexts: new Map(), links: [] };
    const mismatches: CompiledMismatch[] = [];
    const options = { verifySample: 1, onMismatch: (m: CompiledMismatch) => mismatches.push(m) };
    const before = { ...verificationStats };
    expect(evaluateCompiled(set, [['p']], req, options)?.response.decision).toBe('allow');
    expect(verificationStats.verified).toBe(before.verified);
    await tick();
    expect(verificationStats.verified).toBe(before.verified + 1);
    expect(mismatches).toEqual([]);
    // A compiler fault, simulated: cedar-wasm now sees another text than the one compiled.
    staticTexts.set('p', 'forbid (principal, action, resource);');
    expect(evaluateCompiled(set, [['p']], req, options)?.response.decision).toBe('allow');
    await tick();
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]).toMatchObject({
      policyIds: ['p'],
      compiled: { decision: 'allow' },
      cedar: { decision: 'deny', reason: ['p'] },
      disabled: true,
    });
    expect(mismatches[0]!.inputHash).toMatch(/^[0-9a-f]{64}$/);
    expect(verificationStats.mismatches).toBe(before.mismatches + 1);
    expect(evaluateCompiled(set, [['p']], req, options)).toBeUndefined();
  });

  it('verifies only the sampled fraction', async () => {
    const set: PolicyTexts = {
      staticTexts: new Map([['p', 'permit (principal, action, resource);']]),
      templateTexts: new Map(),
      links: [],
    };
    const before = verificationStats.sampled;
    evaluateCompiled(set, [['p']], req, { verifySample: 0.1, random: () => 0.5 });
    evaluateCompiled(set, [['p']], req, { verifySample: 0.1, random: () => 0.05 });
    await tick();
    expect(verificationStats.sampled).toBe(before + 1);
  });
});

describe('evaluate with the compiled path', () => {
  const SCHEMA = `entity User { level: Long }; entity Doc; action read appliesTo { principal: User, resource: Doc, context: { n: Long } };`;
  const request = {
    principal: { type: 'User', id: 'u' },
    action: { type: 'Action', id: 'read' },
    resource: { type: 'Doc', id: 'd' },
    context: { n: 3 },
    entities: [{ uid: { type: 'User', id: 'u' }, attrs: { level: 2 }, parents: [] }],
  };
  const setOf = (text: string) => {
    const r = compilePolicySet({ schema: SCHEMA, policies: [{ file: 'p.cedar', text }] });
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    return r.policySet;
  };

  it('answers without schema checks through the compiled path, as cedar-wasm does', async () => {
    const set = setOf(
      '@id("lvl") permit (principal, action == Action::"read", resource) when { principal.level < context.n };\n@id("f") forbid (principal, action, resource) when { 9007199254740991 * 9007199254740991 * context.n > 0 };',
    );
    const before = verificationStats.sampled;
    const fast = evaluate(set, request, { validateRequest: false, compiled: { verifySample: 1 } });
    expect(verificationStats.sampled).toBe(before + 1);
    const slow = evaluate(set, request, { validateRequest: false, compiled: false });
    expect(verificationStats.sampled).toBe(before + 1);
    expect(fast).toEqual(slow);
    expect(fast).toMatchObject({ decision: 'deny', errors: [{ policyId: 'f', code: 'forbid_errored' }] });
    await new Promise((r) => setImmediate(r));
  });

  it('falls back to cedar-wasm for a partition with an unsupported policy', () => {
    const set = setOf('@id("big") permit (principal, action, resource) when { context.n < 9223372036854775807 };');
    const before = verificationStats.sampled;
    const d = evaluate(set, request, { validateRequest: false, compiled: { verifySample: 1 } });
    expect(verificationStats.sampled).toBe(before);
    expect(d.decision).toBe('allow');
    expect(compiledPolicies(set).unsupported.get('big')).toBe('literal');
  });
});
