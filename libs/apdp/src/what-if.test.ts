import type { DecisionEvent, DecisionRecorder } from '@argus/contracts';
import { createAuthenticator } from '@argus/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, listen, seedRegistry, startHarness, toolCall, TRANSPORTS, type Harness, type TestServer } from './testing/harness.ts';

const SERVICE_TOKEN = 'what-if-service-token-0123456789';

/**
 * A what-if (`x-argus-what-if: true`), as the console's "explain" re-runs a recorded decision: the
 * same answer as a real decision, with no audit record and no side effect (the goal budget is not
 * spent); only admins and policy authors may ask for one. On both transports (the production
 * listener and the app), each with its own decision point.
 */
describe.each(TRANSPORTS)('what-if decisions (%s)', (transport) => {
  let h: Harness;
  let server: TestServer;
  const recorded: DecisionEvent[] = [];
  const recorder: DecisionRecorder = { record: async (e) => void recorded.push(e) };

  beforeAll(async () => {
    h = await startHarness({ recorder, auth: createAuthenticator({ adminToken: ADMIN_TOKEN, serviceTokens: { app: SERVICE_TOKEN } }) });
    await seedRegistry(h);
    server = await listen(h, transport);
  });
  afterAll(async () => {
    await server.close();
    await h.close();
  });

  const decide = (token: string, input: unknown, whatIf?: string) =>
    fetch(`${server.url}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(whatIf ? { 'x-argus-what-if': whatIf } : {}) },
      body: JSON.stringify({ input, explain: 'full' }),
    });
  /** The same through the OPA Data API, which takes the same headers. */
  const decideData = (token: string, input: unknown, whatIf?: string) =>
    fetch(`${server.url}/v1/data/argus/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(whatIf ? { 'x-argus-what-if': whatIf } : {}) },
      body: JSON.stringify({ input }),
    });

  it('answers as a real decision would, writes no record and spends no budget', async () => {
    const goal = await h.storage.goals.create({
      id: 'g-whatif',
      owner: 'alice',
      objective: 'test',
      intents: ['lookup-order-status'],
      agents: ['support-bot'],
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      budget: { maxActions: 5 },
    });
    const input = { ...toolCall('support-bot'), goal: goal.id };

    const real = await decide(SERVICE_TOKEN, input);
    expect(real.status).toBe(200);
    const realBody = (await real.json()) as { result: { decision: string } };
    expect(recorded).toHaveLength(1);
    expect(realBody.result.decision).toBe('allow');
    const spent = await h.budget.get(goal.id);
    expect(spent.actions).toBe(1);

    const whatIf = await decide(ADMIN_TOKEN, input, 'true');
    expect(whatIf.status).toBe(200);
    const body = (await whatIf.json()) as { result: { decision: string; effects?: Array<{ effect: string; status: string }> } };
    expect(body.result.decision).toBe(realBody.result.decision);
    expect(recorded).toHaveLength(1);
    expect(await h.budget.get(goal.id)).toEqual(spent);
    expect(body.result.effects).toEqual(expect.arrayContaining([expect.objectContaining({ effect: 'budget', status: 'skipped' })]));

    const viaData = await decideData(ADMIN_TOKEN, input, 'true');
    expect(viaData.status).toBe(200);
    expect(((await viaData.json()) as { result: string }).result).toBe(realBody.result.decision);
    expect(recorded).toHaveLength(1);
    expect(await h.budget.get(goal.id)).toEqual(spent);
  });

  it('refuses a what-if from a caller that is neither admin nor policy author (it could shed its record)', async () => {
    const res = await decide(SERVICE_TOKEN, toolCall('support-bot'), 'true');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'forbidden' });
    const odd = await decide(ADMIN_TOKEN, toolCall('support-bot'), 'yes');
    expect(odd.status).toBe(403);
    // The OPA Data API too: the header was ignored there, and the decision recorded as a real one.
    const before = recorded.length;
    const data = await decideData(SERVICE_TOKEN, toolCall('support-bot'), 'true');
    expect(data.status).toBe(403);
    expect(recorded).toHaveLength(before);
  });
});
