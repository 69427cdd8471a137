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

describe('PUT /v1/policies under If-Match', () => {
  const admin = `Bearer ${ADMIN_TOKEN}`;
  const put = (policies: Array<{ file: string; text: string }>, ifMatch?: string) => {
    const r = request(h.app).put('/v1/policies').set('authorization', admin);
    return (ifMatch === undefined ? r : r.set('if-match', ifMatch)).send({ policies });
  };

  it('GET answers the live version as the ETag; a publication under it succeeds and answers the new one', async () => {
    const live = await request(h.app).get('/v1/policies').set('authorization', admin);
    expect(live.headers.etag).toBe(`"${live.body.version}"`);
    const source = await request(h.app).get('/v1/policies/source').set('authorization', admin);
    expect(source.headers.etag).toBe(live.headers.etag);
    const published = await put(manyPolicies(4), live.headers.etag);
    expect(published.status).toBe(200);
    expect(published.headers.etag).toBe(`"${published.body.version}"`);
    expect(published.body.version).not.toBe(live.body.version);
  });

  it('refuses a stale or unknown If-Match with a 412 naming the header; the live set is unchanged', async () => {
    const before = (await request(h.app).get('/v1/policies').set('authorization', admin)).body.version as string;
    for (const stale of ['"sha256:deadbeef"', 'W/"sha256:deadbeef"', '"sha256:a", "sha256:b"']) {
      const r = await put(manyPolicies(5), stale);
      expect(r.status, stale).toBe(412);
      expect(r.body).toMatchObject({
        code: 'precondition_failed',
        errors: [{ path: '/headers/if-match', message: `the live policy set is "${before}"` }],
      });
      expect(r.body.message).toContain(stale);
    }
    expect((await request(h.app).get('/v1/policies').set('authorization', admin)).body.version).toBe(before);
    const empty = await put(manyPolicies(5), ' ');
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([expect.objectContaining({ path: '/headers/if-match' })]);
  });

  it('takes the live version quoted, in a list, or `*`; without If-Match it publishes as before', async () => {
    let live = (await request(h.app).get('/v1/policies').set('authorization', admin)).body.version as string;
    expect((await put(manyPolicies(6), `"sha256:other", "${live}"`)).status).toBe(200);
    live = (await request(h.app).get('/v1/policies').set('authorization', admin)).body.version as string;
    expect((await put(manyPolicies(7), `W/"sha256:other",  "${live}" ,`)).status).toBe(200);
    expect((await put(manyPolicies(8), '*')).status).toBe(200);
    expect((await put(manyPolicies(9))).status).toBe(200);
  });

  it('compares only well-formed entity tags: anything else is a 400 naming the header; a weak tag never matches (412)', async () => {
    const live = (await request(h.app).get('/v1/policies').set('authorization', admin)).body.version as string;
    for (const bad of ['garbage"', live, `"${live}`, `${live}"`, `"${live}" "${live}"`, `"${live}"x`, 'W/ "x"', ',', '"a", *']) {
      const r = await put(manyPolicies(11), bad);
      expect(r.status, bad).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_parameter', errors: [{ path: '/headers/if-match' }] });
    }
    for (const weak of [`W/"${live}"`, `W/"sha256:other", W/"${live}"`]) {
      const r = await put(manyPolicies(11), weak);
      expect(r.status, weak).toBe(412);
      expect(r.body).toMatchObject({ code: 'precondition_failed', errors: [{ path: '/headers/if-match' }] });
    }
    expect((await request(h.app).get('/v1/policies').set('authorization', admin)).body.version).toBe(live);
  });

  it('a publication that lands while a set compiles wins: the slower one under the old version is refused', async () => {
    const live = (await request(h.app).get('/v1/policies').set('authorization', admin)).headers.etag as string;
    const [a, b] = await Promise.all([put(manyPolicies(1_500), live), put(manyPolicies(10), live)]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
  });
});
