/**
 * The console's candidate endpoint against `argus serve`: the `explanation` of an `explain: "full"`
 * answer from `/v1/authorize`, pasted as it is, is decided on a candidate set (no browser needed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeFixture } from './testing/serve-fixture.ts';

describe('console candidate endpoint', () => {
  let argus: ServeFixture;

  beforeAll(async () => {
    argus = await startServe('console-candidate', ['bot-a']);
  }, 120_000);

  afterAll(async () => {
    await argus?.close();
  }, 30_000);

  it('takes the explanation of an explain: "full" answer as it is, on the live set and on a candidate', async () => {
    const input = {
      principal: { type: 'Agent', id: 'bot-a' },
      action: 'tool:call',
      resource: {
        type: 'Tool',
        id: 'github/create_issue',
        attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] },
      },
      intent: 'lookup-order-status',
    };
    const live = await argus.call('POST', '/v1/authorize', { input, explain: 'full' });
    expect(live.status).toBe(200);
    const result = live.body.result as { decision: string; explanation: Record<string, unknown> };
    expect(Object.keys(result.explanation).sort()).toEqual(['context', 'entities', 'request']);
    const source = (await argus.call('GET', '/v1/policies/source')).body as {
      schema: string;
      policies: Array<{ file: string; text: string }>;
      links?: unknown[];
    };
    const body = { schema: source.schema, policies: source.policies, ...(source.links?.length ? { links: source.links } : {}) };

    const same = await argus.call('POST', '/console/api/candidate/evaluate', { ...body, request: result.explanation });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    expect(same.body.decision).toBe(result.decision);

    const forbid = '@id("freeze")\nforbid (principal, action == Argus::Action::"tool:call", resource);\n';
    const frozen = await argus.call('POST', '/console/api/candidate/evaluate', {
      ...body,
      policies: [...source.policies, { file: 'freeze.cedar', text: forbid }],
      request: result.explanation,
    });
    expect(frozen.status, JSON.stringify(frozen.body)).toBe(200);
    expect(frozen.body).toMatchObject({ decision: 'deny', reasons: [{ policy: 'freeze', effect: 'forbid' }] });
  }, 30_000);
});
