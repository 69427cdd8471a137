import { compilePolicySet, evaluate, summarize, type EvaluationRequest, type PolicySetInput } from '@argus/engine';
import { createMetricsRegistry } from '@argus/platform';
import { describe, expect, it } from 'vitest';
import { ShadowEvaluator } from './shadow.ts';

const SCHEMA = `namespace Argus {
  entity Agent = { trust: String };
  entity Model;
  action "llm:invoke" appliesTo { principal: Agent, resource: Model };
}`;
const PERMIT =
  '@id("trusted-models")\npermit (principal, action == Argus::Action::"llm:invoke", resource) when { principal.trust == "trusted" };';
const FORBID = '@id("no-gpt5")\nforbid (principal, action, resource == Argus::Model::"gpt-5");';

const input = (...texts: string[]): PolicySetInput => ({
  schema: SCHEMA,
  policies: texts.map((text, i) => ({ file: `p${i}.cedar`, text })),
});
const request = (trust: string, model: string): EvaluationRequest => ({
  principal: { type: 'Argus::Agent', id: 'a' },
  action: { type: 'Argus::Action', id: 'llm:invoke' },
  resource: { type: 'Argus::Model', id: model },
  context: {},
  entities: [{ uid: { type: 'Argus::Agent', id: 'a' }, attrs: { trust }, parents: [] }],
});

describe('ShadowEvaluator', () => {
  const live = compilePolicySet(input(PERMIT));
  if (!live.ok) throw new Error('live set');

  it('does nothing without a candidate', () => {
    const shadow = new ShadowEvaluator({ metrics: createMetricsRegistry({ defaultMetrics: false }) });
    const r = request('trusted', 'gpt-5');
    expect(shadow.evaluate(r, summarize(evaluate(live.policySet, r)))).toBeUndefined();
    expect(shadow.status()).toEqual({ active: false, evaluations: 0, flips: {}, recent: [] });
  });

  it('counts flips by from/to in Prometheus and returns them for the audit record', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const shadow = new ShadowEvaluator({ metrics, clock: () => new Date('2026-01-01T00:00:00Z') });
    const set = shadow.setCandidate(input(PERMIT, FORBID));
    expect(set.ok).toBe(true);
    const flipping = request('trusted', 'gpt-5');
    const same = request('trusted', 'gpt-4o');
    const flip = shadow.evaluate(flipping, summarize(evaluate(live.policySet, flipping)));
    expect(flip).toMatchObject({ from: 'allow', to: 'deny', livePolicies: ['trusted-models'], candidatePolicies: ['no-gpt5'] });
    expect(flip?.candidateVersion).toBe(shadow.candidate?.version);
    expect(shadow.evaluate(same, summarize(evaluate(live.policySet, same)))).toBeUndefined();
    shadow.evaluate(flipping, summarize(evaluate(live.policySet, flipping)));
    const status = shadow.status();
    expect(status).toMatchObject({ active: true, evaluations: 3, flips: { 'allow→deny': 2 } });
    expect(status.recent).toHaveLength(2);
    const text = await metrics.metrics();
    expect(text).toContain('argus_shadow_flips_total{from="allow",to="deny"} 2');
    expect(text).toContain('argus_shadow_evaluations_total 3');
  });

  it('refuses a candidate that does not compile and keeps the previous one', () => {
    const shadow = new ShadowEvaluator({ metrics: createMetricsRegistry({ defaultMetrics: false }) });
    const first = shadow.setCandidate(input(PERMIT));
    const bad = shadow.setCandidate(input('permit (principal, action, resource) when { principal.nope };'));
    expect(bad.ok).toBe(false);
    expect(first.ok && shadow.candidate?.version === first.version).toBe(true);
    shadow.clear();
    expect(shadow.candidate).toBeUndefined();
  });

  it('gives a candidate that reads the time `now` when the request it is compared on has none (the live set never read it)', () => {
    const schema = `namespace Argus {
  entity Agent = { trust: String };
  entity Model;
  action "llm:invoke" appliesTo { principal: Agent, resource: Model, context: { now?: __cedar::datetime } };
}`;
    const timed = compilePolicySet({ schema, policies: [{ file: 'p.cedar', text: PERMIT }] });
    if (!timed.ok) throw new Error('live set');
    const shadow = new ShadowEvaluator({
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      clock: () => new Date('2026-12-07T09:00:00Z'),
      validateRequest: false,
    });
    const after =
      '@id("after-hours")\nforbid (principal, action, resource) when { context has now && context.now > datetime("2026-12-07T08:00:00Z") };';
    expect(
      shadow.setCandidate({
        schema,
        policies: [
          { file: 'p.cedar', text: PERMIT },
          { file: 'q.cedar', text: after },
        ],
      }).ok,
    ).toBe(true);
    const r = request('trusted', 'gpt-4o');
    expect(shadow.evaluate(r, summarize(evaluate(timed.policySet, r)))).toMatchObject({
      from: 'allow',
      to: 'deny',
      candidatePolicies: ['after-hours'],
    });
  });
});
