import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedRegistry, startHarness, toolCall, type Harness } from '../testing/harness.ts';

/** `count` permits, each distinct, over the repository schema. */
export function manyPolicies(count: number): Array<{ file: string; text: string }> {
  return Array.from({ length: count }, (_, i) => ({
    file: `policies/bulk-${Math.floor(i / 100)}.cedar`,
    text: `@id("bulk-${i}")\npermit (principal == Argus::Agent::"bot-${i}", action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "internal" && context.intent == "intent-${i}" };`,
  }));
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    policyLimits: { maxPolicies: 2_500, maxBytes: 512 * 1024, compileTimeoutMs: 120_000 },
    limits: { maxBodyBytes: 4 * 1024 * 1024, maxJsonDepth: 32, maxBatchSize: 100, decisionTimeoutMs: 1000 },
  });
  await seedRegistry(h);
});
afterAll(() => h.close());

describe('POST /v1/policies/validate', () => {
  it('refuses a set over the policy count or the byte limit with a 413 naming the path', async () => {
    const tooMany = await request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: manyPolicies(2_501) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body).toMatchObject({ code: 'body_too_large', errors: [{ path: '/policies' }] });
    const tooBig = await request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: [{ file: 'big.cedar', text: `// ${'x'.repeat(600 * 1024)}\npermit (principal, action, resource);` }] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.message).toContain('bytes');
    const publish = await request(h.app)
      .put('/v1/policies')
      .set('authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ policies: manyPolicies(2_501) });
    expect(publish.status).toBe(413);
  });

  it('answers diagnostics for a bad set and a version for a good one, from the worker', async () => {
    const bad = await request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: [{ file: 'bad.cedar', text: 'permit (principal, action, resource) when { nope };' }] });
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ valid: false, diagnostics: [expect.objectContaining({ file: 'bad.cedar' })] });
    const good = await request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: manyPolicies(3) });
    expect(good.body).toMatchObject({ valid: true, version: expect.stringMatching(/^sha256:/) });
  });

  it('keeps the event loop free while a large set compiles: decisions are answered meanwhile', async () => {
    await request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: manyPolicies(3) }); // worker warm
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const started = performance.now();
    const validating = request(h.app)
      .post('/v1/policies/validate')
      .send({ policies: manyPolicies(300) });
    const answered: number[] = [];
    let done = false;
    const validated = validating.then((r) => {
      done = true;
      return r;
    });
    while (!done) {
      const t = performance.now();
      const r = await request(h.listener)
        .post('/v1/authorize')
        .send({ input: toolCall('support-bot') });
      expect(r.status).toBe(200);
      answered.push(performance.now() - t);
    }
    const result = await validated;
    lag.disable();
    const took = performance.now() - started;
    expect(result.body).toMatchObject({ valid: true });
    // The compilation took long enough to matter, and the loop never stalled for a large part of it.
    expect(took).toBeGreaterThan(300);
    expect(answered.length).toBeGreaterThan(5);
    expect(lag.max / 1e6).toBeLessThan(Math.max(250, took / 4));
  }, 240_000);
});
