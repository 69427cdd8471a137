import { describe, expect, it } from 'vitest';
import { compareDecisions, countFlips, diffDecision } from './diff.ts';
import { explainRequest } from './explain.ts';
import { commentsOf, droppedComments, formatPolicyText } from './format.ts';
import { compilePolicySet, type CompiledPolicySet } from './policy-set.ts';
import { CALL, setOf, uid, world } from './testdata/fixtures.ts';
import type { EvaluationRequest } from './types.ts';

function compiled(files: Record<string, string>, links: Parameters<typeof setOf>[1] = []): CompiledPolicySet {
  const r = compilePolicySet(setOf(files, links));
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.policySet;
}

const request = (principal: string, tool: string, intent = 'research', depth = 1): EvaluationRequest => ({
  principal: uid('Agent', principal),
  action: CALL,
  resource: uid('Tool', tool),
  context: { intent, depth },
  entities: world(),
});

const PERMITS = `
@id("trusted-research")
permit (principal is T::Agent, action == T::Action::"call", resource is T::Tool)
when { principal.trust == "trusted" && resource.intents.contains(context.intent) && context.depth < 2 };

@id("alice-only")
permit (principal in T::Human::"alice", action == T::Action::"call", resource)
unless { resource.sensitivity == "secret" };

@id("read-anything")
permit (principal, action == T::Action::"read", resource);
`;

describe('explainRequest', () => {
  const set = compiled({ 'p.cedar': PERMITS });

  it('names the closest permit and the conjunct it still needed', () => {
    const x = explainRequest(set, request('rogue', 'search'));
    expect(x.decision.decision).toBe('deny');
    expect(x.noMatchingPermit).toBe(true);
    const first = x.permits[0]!;
    expect(first.policy.id).toBe('trusted-research');
    expect(first.scopeMatched).toBe(true);
    expect(first.conditions.map((c) => c.outcome)).toEqual(['fails', 'holds', 'holds']);
    expect(first.needed).toEqual(['when { principal.trust == "trusted" }']);
    expect(first.conditions[0]!.values).toEqual({ 'principal.trust': 'pending' });
    // alice-only: the scope's principal does not match rogue (under bob).
    const alice = x.permits.find((p) => p.policy.id === 'alice-only')!;
    expect(alice.scope).toEqual({ principal: false, action: true, resource: true });
    expect(alice.needed[0]).toMatch(/^principal in T::Human::"alice"/);
    // read-anything is for another action: never analysed.
    expect(x.permits.some((p) => p.policy.id === 'read-anything')).toBe(false);
  });

  it('reports an unless clause that blocked', () => {
    const x = explainRequest(set, request('sub', 'vault', 'other', 3));
    const alice = x.permits.find((p) => p.policy.id === 'alice-only')!;
    expect(alice.scopeMatched).toBe(true);
    expect(alice.conditions).toEqual([
      { kind: 'unless', text: 'resource.sensitivity == "secret"', outcome: 'fails', values: { 'resource.sensitivity': 'secret' } },
    ]);
    expect(alice.needed).toEqual(['unless { resource.sensitivity == "secret" } to be false']);
  });

  it('marks satisfied permits and no closest-permit story on an allow', () => {
    const x = explainRequest(set, request('planner', 'search'));
    expect(x.decision.decision).toBe('allow');
    expect(x.noMatchingPermit).toBe(false);
    expect(
      x.permits
        .filter((p) => p.satisfied)
        .map((p) => p.policy.id)
        .sort(),
    ).toEqual(['alice-only', 'trusted-research']);
  });

  it('analyses template-linked permits with their slots filled', () => {
    const linked = compiled(
      { 't.cedar': '@id("grant")\npermit (principal == ?principal, action == T::Action::"call", resource == ?resource);' },
      [
        {
          templateId: 'grant',
          linkId: 'grant-rogue-search',
          values: { '?principal': uid('Agent', 'rogue'), '?resource': uid('Tool', 'search') },
        },
      ],
    );
    const hit = explainRequest(linked, request('rogue', 'search'));
    expect(hit.decision.decision).toBe('allow');
    expect(hit.permits[0]).toMatchObject({ satisfied: true, policy: { id: 'grant-rogue-search' } });
  });
});

describe('diff', () => {
  it('finds a flip and names the policies that changed', () => {
    const before = compiled({ 'p.cedar': PERMITS });
    const after = compiled({
      'p.cedar': PERMITS,
      'f.cedar': '@id("no-vault")\nforbid (principal, action, resource == T::Tool::"search");',
    });
    const d = diffDecision(before, after, request('planner', 'search'));
    expect(d.change).toEqual({
      flipped: true,
      from: 'allow',
      to: 'deny',
      added: ['no-vault'],
      removed: ['alice-only', 'trusted-research'],
    });
    const same = diffDecision(before, after, request('rogue', 'search'));
    expect(same.change.flipped).toBe(false);
    expect(countFlips([d.change, same.change, d.change])).toEqual({ 'allow→deny': 2 });
  });

  it('sees a change of determining policy without a flip', () => {
    const c = compareDecisions({ decision: 'deny', policies: ['a'] }, { decision: 'deny', policies: ['b'] });
    expect(c).toMatchObject({ flipped: false, added: ['b'], removed: ['a'] });
  });
});

describe('formatPolicyText', () => {
  it('formats and keeps comments', () => {
    const r = formatPolicyText('a.cedar', '// why\npermit(principal,action,resource) when { true }; // tail\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.changed).toBe(true);
    expect(r.formatted).toContain('permit (principal, action, resource)');
    expect(r.droppedComments).toEqual([]);
    const again = formatPolicyText('a.cedar', r.formatted);
    expect(again.ok && again.changed).toBe(false);
  });

  it('reports a syntax error located', () => {
    const r = formatPolicyText('bad.cedar', 'permit(principal,action,resource)\nwhen { 1 + };');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics[0]).toMatchObject({ file: 'bad.cedar', line: 2 });
  });

  it('names the comments a rewrite would lose, counting duplicates', () => {
    expect(droppedComments(['// a', '// b', '// a'], ['// a', '// b'])).toEqual(['// a']);
    expect(droppedComments(['// a'], ['// a', '// new'])).toEqual([]);
  });

  it('does not take // inside a string for a comment', () => {
    expect(commentsOf('permit(principal,action,resource) when { context.url == "http://x" }; // real')).toEqual(['// real']);
  });
});
