import { describe, expect, it } from 'vitest';
import { canonicalText } from '@argus/contracts/canonical-json';
import { Chainer } from './chain.ts';
import { createRecordBuilder } from './record.ts';
import { makeDecisionEvent, SECRET_CANARY } from './testing/events.ts';

const now = new Date('2025-02-01T10:00:00.000Z');

describe('audit record', () => {
  const build = createRecordBuilder();

  it('writes the decision time in UTC ISO form whatever form it came in', () => {
    const at = (time: string) => build({ ...makeDecisionEvent('allow', 0), time }, now).time;
    expect(at('2025-01-01T00:00:00.000Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(at('2025-01-01T01:00:00+01:00')).toBe('2025-01-01T00:00:00.000Z');
    expect(at('2025-01-01T00:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(at('not a time')).toBe('not a time');
  });

  it('records an allow with the full delegation chain, value-free', () => {
    const r = build(makeDecisionEvent('allow', 0), now);
    expect(r).toMatchObject({
      kind: 'decision',
      decision_id: 'dec-allow-0',
      time: '2025-01-01T00:00:00.000Z',
      recordedAt: now.toISOString(),
      principal: { type: 'Agent', id: 'support-bot' },
      delegation: [
        { type: 'Human', id: 'alice' },
        { type: 'Agent', id: 'planner' },
        { type: 'Agent', id: 'support-bot' },
      ],
      root: { type: 'Human', id: 'alice' },
      intent: 'lookup-order-status',
      goal: 'goal-7f3a',
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm.search' },
      outcome: 'allow',
      allow: true,
      policies: ['permit-support-lookup'],
      errors: [],
      codes: [],
      policyVersion: 'v-abc123',
      latencyMs: 0.42,
      caller: { kind: 'apdp', subject: 'svc-orders' },
    });
    expect(r).not.toHaveProperty('included');
    expect(r).not.toHaveProperty('masked');
    expect(r).not.toHaveProperty('proxy');
    const text = JSON.stringify(r);
    expect(text).not.toContain(SECRET_CANARY);
    expect(text).not.toContain('123-45-6789');
    expect(text).not.toContain('internal');
  });

  it('records a deny with its determining policy and errors', () => {
    const r = build(makeDecisionEvent('deny', 1), now);
    expect(r).toMatchObject({
      outcome: 'deny',
      allow: false,
      policies: ['forbid-secret-tools'],
      errors: [{ policy: 'permit-broken', code: 'policy_error' }],
    });
    expect(r.root).toEqual({ type: 'Human', id: 'bob' });
  });

  it('records a hard deny with its reason codes', () => {
    const r = build(makeDecisionEvent('hard_deny', 2), now);
    expect(r).toMatchObject({ outcome: 'deny', policies: [], codes: ['agent_revoked', 'delegation_expired'] });
  });

  it('records a proxied call with upstream, status, usage and the credential name', () => {
    const r = build(makeDecisionEvent('proxied', 3), now);
    expect(r.caller.kind).toBe('proxy');
    expect(r.proxy).toEqual({
      upstream: 'openai',
      status: 200,
      credentialName: 'openai-prod',
      usage: { inputTokens: 12, outputTokens: 30, totalTokens: 42, costUsd: 0.0012 },
    });
    expect(JSON.stringify(r)).not.toContain(SECRET_CANARY);
  });

  it('keeps the related decision id', () => {
    expect(build(makeDecisionEvent('allow', 0, { relatedDecisionId: 'dec-0' }), now).relatedDecisionId).toBe('dec-0');
  });

  it('copies opted-in paths only, in JSON Pointer or dotted form', () => {
    const b = createRecordBuilder({
      includePaths: ['/input/context/ticket', 'input.resource.attributes.sensitivity', '/input/context/absent'],
    });
    const r = b(makeDecisionEvent('allow', 5), now);
    expect(r.included).toEqual({ '/input/context/ticket': 'T-5', '/input/resource/attributes/sensitivity': 'internal' });
    expect(JSON.stringify(r)).not.toContain('123-45-6789');
  });

  it('removes or hashes masked paths, lists them, and never lets the canary through', () => {
    const b = createRecordBuilder({
      includePaths: ['/input/context', '/input/principal/attributes', '/result/facts'],
      mask: [
        { path: '/input/context/ssn', mode: 'hash' },
        { path: 'input.context.card' },
        { path: '/input/context/token' },
        { path: '/input/principal/attributes/apiKey' },
        { path: '/result/facts/secret' },
      ],
      hashSalt: 'a-test-salt-of-16+chars',
    });
    const r = b(makeDecisionEvent('allow', 7), now);
    const ctx = r.included!['/input/context'] as Record<string, unknown>;
    expect(ctx.ticket).toBe('T-7');
    expect(ctx).not.toHaveProperty('card');
    expect(ctx).not.toHaveProperty('token');
    expect(String(ctx.ssn)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.masked).toEqual([
      '/input/context/ssn',
      '/input/context/card',
      '/input/context/token',
      '/input/principal/attributes/apiKey',
      '/result/facts/secret',
    ]);
    const text = JSON.stringify(r);
    expect(text).not.toContain(SECRET_CANARY);
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('123-45-6789');
    // Same salt, same value → same hash (correlatable); another salt → another hash.
    expect(b(makeDecisionEvent('allow', 8), now).included!['/input/context']).toMatchObject({ ssn: ctx.ssn });
    const other = createRecordBuilder({
      includePaths: ['/input/context'],
      mask: [{ path: '/input/context/ssn', mode: 'hash' }],
      hashSalt: 'another-salt-of-16chars',
    });
    expect((other(makeDecisionEvent('allow', 7), now).included!['/input/context'] as Record<string, unknown>).ssn).not.toBe(ctx.ssn);
  });

  it('masks value-free fields and wildcard paths too', () => {
    const b = createRecordBuilder({ mask: [{ path: '/input/delegation/*/id', mode: 'hash' }, { path: '/input/principal/id' }] });
    const r = b(makeDecisionEvent('allow', 0), now);
    expect(r.principal).toEqual({ type: 'Agent', id: '[masked]' });
    expect(r.delegation.every((d) => d.id.startsWith('sha256:'))).toBe(true);
    expect(r.masked).toEqual(['/input/delegation/0/id', '/input/delegation/1/id', '/input/delegation/2/id', '/input/principal/id']);
  });

  it('never alters the event it is given (the API response)', () => {
    const b = createRecordBuilder({
      includePaths: ['/input/context'],
      mask: [{ path: '/input/context/ssn' }, { path: '/input/context/card', mode: 'hash' }],
    });
    const event = makeDecisionEvent('proxied', 9);
    const before = structuredClone(event);
    const r = b(event, now);
    expect(event).toEqual(before);
    (r.included!['/input/context'] as Record<string, unknown>).ticket = 'changed';
    expect(event.input.context!.ticket).toBe('T-9');
  });

  it('refuses a malformed path at configuration time', () => {
    expect(() => createRecordBuilder({ includePaths: ['input..context'] })).toThrow(/invalid audit path/);
    expect(() => createRecordBuilder({ mask: [{ path: '/' }] })).toThrow(/invalid mask path/);
  });

  it('writes every key in canonical order, nested ones too, so that chaining is one JSON.stringify', () => {
    const build = createRecordBuilder();
    for (const kind of ['allow', 'deny', 'hard_deny', 'proxied'] as const) {
      const r = build(makeDecisionEvent(kind, 1), new Date());
      // The general path sorts every key: the same text means nothing was out of order.
      expect(JSON.stringify(r)).toBe(canonicalText(r));
      const chained = new Chainer('w1').chain(JSON.parse(JSON.stringify(r)) as never) as unknown as Record<string, unknown>;
      const { hash, ...rest } = chained;
      expect(JSON.stringify(rest)).toBe(canonicalText(rest));
      expect([chained.writer, chained.seq, typeof hash]).toEqual(['w1', 1, 'string']);
    }
    // An optional member in its place.
    const r = build(makeDecisionEvent('deny', 2, { relatedDecisionId: 'dec-0' }), new Date());
    expect(JSON.stringify(r)).toBe(canonicalText(r));
  });
});
