import type { DecisionEvent } from '@argus/contracts';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedRegistry, startHarness, toolCall, type Harness } from './testing/harness.ts';

// Shadow mode on the live decision path: the candidate never changes an answer; its flips are counted and audited.
let h: Harness;
const events: DecisionEvent[] = [];
beforeAll(async () => {
  h = await startHarness({ recorder: { record: async (e) => void events.push(e) } });
  await seedRegistry(h);
});
afterAll(async () => h.close());

describe('shadow mode', () => {
  it('evaluates a candidate beside the live set, counts flips and lists them in the audit', async () => {
    const source = (await request(h.app).get('/v1/policies/source')).body as { policies: Array<{ file: string; text: string }> };
    const candidate = [
      ...source.policies,
      { file: 'policies/lockdown.cedar', text: '@id("lockdown")\nforbid (principal, action, resource);\n' },
    ];
    const installed = await request(h.app)
      .post('/v1/policies/shadow')
      .set('authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ policies: candidate });
    expect(installed.status).toBeLessThan(300);

    const live = await request(h.listener)
      .post('/v1/authorize')
      .send({ input: toolCall('support-bot') });
    expect(live.body.result.allow).toBe(true);
    const event = events.find((e) => e.decisionId === live.body.decision_id)!;
    expect(event.shadow).toMatchObject({ from: 'allow', to: 'deny', candidatePolicies: ['lockdown'] });

    const status = (await request(h.app).get('/v1/policies/shadow')).body;
    expect(status.active).toBe(true);
    const metrics = (await request(h.app).get('/metrics')).text;
    expect(metrics).toMatch(/argus_shadow_flips_total\{from="allow",to="deny"\} [1-9]/);

    await request(h.app).delete('/v1/policies/shadow').set('authorization', `Bearer ${ADMIN_TOKEN}`);
    const after = await request(h.listener)
      .post('/v1/authorize')
      .send({ input: toolCall('support-bot') });
    expect(events.find((e) => e.decisionId === after.body.decision_id)!.shadow).toBeUndefined();
  });
});
