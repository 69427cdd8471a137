import { describe, expect, it } from 'vitest';
import { compilePolicySet, evaluate, mergeObligations, sliceEntities, uidKey, type CompiledPolicySet } from './index.ts';
import { CALL, setOf, uid, world } from './testdata/fixtures.ts';

function compile(text: string): CompiledPolicySet {
  const r = compilePolicySet(setOf({ 'e.cedar': text }));
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.policySet;
}

function call(set: CompiledPolicySet, principal = 'sub', resource = 'search', depth = 1) {
  const all = new Map(world().map((e) => [uidKey(e.uid), e]));
  const p = uid('Agent', principal);
  const r = uid('Tool', resource);
  return evaluate(set, {
    principal: p,
    action: CALL,
    resource: r,
    context: { intent: 'research', depth },
    entities: sliceEntities(all, [p, r]),
  });
}

const GATED = '@id("gated") @effect("require_approval") permit (principal, action == T::Action::"call", resource);';

describe('@effect', () => {
  it('refuses an unknown effect, or one on the wrong kind of policy, with the whole set', () => {
    for (const text of [
      '@effect("maybe") permit (principal, action, resource);',
      '@effect("observe") permit (principal, action, resource);',
      '@effect("require_approval") forbid (principal, action, resource);',
      '@obligation_max_items("-3") permit (principal, action, resource);',
      '@obligation_redact("ssn,") permit (principal, action, resource);',
      '@obligation_redact("/customer/") permit (principal, action, resource);',
      '@obligation_redact("/a/~2") permit (principal, action, resource);',
      '@obligation_redact("ssn; drop") permit (principal, action, resource);',
    ]) {
      const r = compilePolicySet(setOf({ 'ok.cedar': 'permit (principal, action, resource);', 'e.cedar': text }));
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.diagnostics[0]!.file).toBe('e.cedar');
    }
  });

  it('@obligation_redact takes field names, dotted paths and JSON pointers (RFC 6901 escapes)', () => {
    const text = '@obligation_redact("ssn, customer.email, /customer/card/number, /a~1b/~0c") permit (principal, action, resource);';
    const r = compilePolicySet(setOf({ 'ok.cedar': text }));
    expect(r.ok).toBe(true);
    expect(mergeObligations(call(compile(text)).determining).redact).toEqual([
      '/a~1b/~0c',
      '/customer/card/number',
      'customer.email',
      'ssn',
    ]);
  });

  it('require_approval alone holds the request', () => {
    const d = call(compile(GATED));
    expect(d).toMatchObject({ decision: 'allow', needsApproval: true });
  });

  it('a plain permit beside the gated one does not bypass the gate (strict reading)', () => {
    const d = call(compile(`${GATED}\n@id("plain") permit (principal, action, resource == T::Tool::"search");`));
    expect(d).toMatchObject({ decision: 'allow', needsApproval: true });
    expect(d.determining.map((p) => p.id).sort()).toEqual(['gated', 'plain']);
  });

  it('a forbid beats an approval permit: a flat deny', () => {
    const d = call(
      compile(`${GATED}\n@id("no") forbid (principal, action, resource) when { resource.sensitivity == "secret" };`),
      'sub',
      'vault',
    );
    expect(d).toMatchObject({ decision: 'deny', needsApproval: false });
  });

  it('an approval-gated permit whose condition errors is a deny, never a hold', () => {
    const d = call(
      compile(
        '@id("gated-err") @effect("require_approval") permit (principal, action, resource) when { context.depth * 9223372036854775807 > 0 };',
      ),
      'sub',
      'search',
      2,
    );
    expect(d).toMatchObject({ decision: 'deny', needsApproval: false });
    expect(d.errors[0]).toMatchObject({ policyId: 'gated-err', code: 'policy_error' });
  });

  it('observe-mode forbids never deny but are reported', () => {
    const set = compile(
      '@id("allow-all") permit (principal, action, resource);\n@id("watch-secret") @effect("observe") forbid (principal, action, resource) when { resource.sensitivity == "secret" };',
    );
    const d = call(set, 'sub', 'vault');
    expect(d.decision).toBe('allow');
    expect(d.observed.map((p) => p.id)).toEqual(['watch-secret']);
    expect(call(set, 'sub', 'search').observed).toEqual([]);
  });

  it('quarantine, revoke and escalate forbids deny and carry their effect', () => {
    const d = call(
      compile(
        'permit (principal, action, resource);\n@id("q") @effect("quarantine") forbid (principal, action, resource) when { resource.sensitivity == "secret" };',
      ),
      'sub',
      'vault',
    );
    expect(d.decision).toBe('deny');
    expect(d.determining[0]).toMatchObject({ id: 'q', enforcement: 'quarantine' });
  });
});

describe('mergeObligations', () => {
  it('merges each obligation by its rule: redact union, max_items minimum, log_values AND, custom ones distinct and verbatim', () => {
    const set = compile(
      '@id("a") @obligation_redact("ssn, email") @obligation_max_items("50") @obligation_log_values("false") permit (principal, action, resource);\n' +
        '@id("b") @obligation_redact("phone") @obligation_max_items("20") @obligation_log_values("true") @obligation_x_watermark("Internal Use") ' +
        'permit (principal, action, resource == T::Tool::"search");',
    );
    const d = call(set);
    expect(mergeObligations(d.determining)).toEqual({
      redact: ['email', 'phone', 'ssn'],
      max_items: 20,
      log_values: false,
      x_watermark: ['Internal Use'],
    });
  });
});

describe('typed annotations', () => {
  const refused = (text: string) => {
    const r = compilePolicySet(setOf({ 'ok.cedar': 'permit (principal, action, resource);', 'e.cedar': text }));
    expect(r.ok, text).toBe(false);
    return r.ok ? [] : r.diagnostics;
  };

  it('refuses unknown obligations and near-misses of known names, located at the annotation', () => {
    const [typo] = refused(
      'permit (principal, action, resource);\n@id("t")\n  @efect("require_approval")\npermit (principal, action, resource);',
    );
    expect(typo).toMatchObject({ file: 'e.cedar', line: 3, column: 3, message: expect.stringContaining('did you mean `@effect`') });
    const [redcat] = refused('@obligation_redcat("ssn") permit (principal, action, resource);');
    expect(redcat!.message).toMatch(/unknown obligation `@obligation_redcat`; did you mean `@obligation_redact`/);
    expect(refused('@obligation_watermark("x") permit (principal, action, resource);')[0]!.message).toMatch(
      /custom ones are named `@obligation_x_<name>`/,
    );
    expect(refused('@effects("observe") forbid (principal, action, resource);')[0]!.message).toMatch(/did you mean `@effect`/);
  });

  it('refuses malformed values', () => {
    for (const text of [
      '@obligation_log_values("no") permit (principal, action, resource);',
      '@obligation_max_items("0") permit (principal, action, resource);',
      '@obligation_x_tag("a") forbid (principal, action, resource);',
    ]) {
      expect(refused(text)[0]!.file).toBe('e.cedar');
    }
  });

  it('loads with warnings what does not block: custom obligations, a no-op log_values', () => {
    const r = compilePolicySet(
      setOf({ 'e.cedar': '@reason("ok") @obligation_x_tag("a") @obligation_log_values("true") permit (principal, action, resource);' }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings.map((w) => w.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('custom obligation `@obligation_x_tag`'), expect.stringContaining('has no effect')]),
    );
    expect(r.warnings[0]).toMatchObject({ severity: 'warning', file: 'e.cedar', line: 1 });
  });
});
