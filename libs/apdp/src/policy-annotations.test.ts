/**
 * Typed annotations through the policy API: a typo in an Argus annotation never loads (422 naming
 * file, line and column, on publish and on validate), warnings that do not block are returned by
 * both, and obligations merge by their rules in the decision answer.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedRegistry, startHarness, toolCall, type Harness } from './testing/harness.ts';

let h: Harness;
let original: Array<{ file: string; text: string }>;
beforeAll(async () => {
  h = await startHarness();
  await seedRegistry(h);
  original = (await request(h.app).get('/v1/policies/source')).body.policies;
});
afterAll(async () => h.close());

const put = (policies: Array<{ file: string; text: string }>) =>
  request(h.app).put('/v1/policies').set('authorization', `Bearer ${ADMIN_TOKEN}`).send({ policies });
const validate = (policies: Array<{ file: string; text: string }>) => request(h.app).post('/v1/policies/validate').send({ policies });
const withExtra = (text: string) => [...original, { file: 'policies/extra.cedar', text }];

const TOOL_SCOPE = 'principal is Argus::Agent, action == Argus::Action::"tool:call", resource is Argus::Tool';

describe('typed annotations at load', () => {
  it('refuses a misspelled effect or obligation with 422 naming file, line and column; the active set stays', async () => {
    const before = (await request(h.app).get('/v1/policies')).body.version;
    for (const [text, where, message] of [
      [
        `@id("gated")\n@efect("require_approval")\npermit (${TOOL_SCOPE});`,
        'policies/extra.cedar:2:1',
        /unknown annotation `@efect`; did you mean `@effect`/,
      ],
      [
        `@id("redacting")\npermit (${TOOL_SCOPE});\n@id("r2")   @obligation_redcat("ssn")\npermit (${TOOL_SCOPE});`,
        'policies/extra.cedar:3:13',
        /unknown obligation `@obligation_redcat`; did you mean `@obligation_redact`/,
      ],
      [`@id("logs")\n@obligation_log_values("nope")\npermit (${TOOL_SCOPE});`, 'policies/extra.cedar:2:1', /must be `true` or `false`/],
    ] as const) {
      const res = await put(withExtra(text));
      expect(res.status, text).toBe(422);
      expect(res.body.code).toBe('invalid_policy');
      expect(res.body.errors[0].path).toBe(where);
      expect(res.body.errors[0].message).toMatch(message);
      const dry = await validate(withExtra(text));
      expect(dry.body.valid).toBe(false);
      expect(dry.body.diagnostics[0]).toMatchObject({
        file: 'policies/extra.cedar',
        line: Number(where.split(':')[1]),
        column: Number(where.split(':')[2]),
      });
    }
    expect((await request(h.app).get('/v1/policies')).body.version).toBe(before);
  });

  it('returns warnings that do not block loading from publish and from validate', async () => {
    const text = `@id("watermarked")\n@obligation_x_watermark("Internal Use")\npermit (${TOOL_SCOPE});`;
    const dry = await validate(withExtra(text));
    expect(dry.body.valid).toBe(true);
    expect(dry.body.warnings).toEqual([
      expect.objectContaining({
        severity: 'warning',
        file: 'policies/extra.cedar',
        line: 2,
        column: 1,
        message: expect.stringContaining('custom obligation'),
      }),
    ]);
    const res = await put(withExtra(text));
    expect(res.status).toBe(200);
    expect(res.body.warnings).toEqual(dry.body.warnings);
    await put(original);
  });
});

describe('obligations merge by their rules in the answer', () => {
  it('log_values is the AND of the determining permits (false wins), redact a union, max_items the minimum, custom ones verbatim', async () => {
    const text = [
      `@id("o-1") @obligation_log_values("false") @obligation_redact("ssn") @obligation_max_items("50") permit (${TOOL_SCOPE});`,
      `@id("o-2") @obligation_log_values("true") @obligation_redact("email, ssn") @obligation_max_items("20") @obligation_x_watermark("Internal Use") permit (${TOOL_SCOPE});`,
    ].join('\n');
    expect((await put(withExtra(text))).status).toBe(200);
    const res = await request(h.listener)
      .post('/v1/authorize')
      .send({ input: toolCall('support-bot') });
    expect(res.body.result.decision).toBe('allow');
    expect(res.body.result.obligations).toEqual({
      log_values: false,
      redact: ['email', 'ssn'],
      max_items: 20,
      x_watermark: ['Internal Use'],
    });
    await put(original);
  });
});
