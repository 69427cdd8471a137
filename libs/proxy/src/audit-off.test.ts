import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cedarDecisionPoint } from './testing/cedar-decision-point.ts';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { BOT_TOKEN, CANARIES, TEST_POLICIES } from './testing/policies.ts';
import { openAiUpstream, type TestUpstream } from './testing/upstreams.ts';

// With the audit trail switched off the proxy has no recorder: every call is still decided,
// forwarded or refused, its usage reported and its access-log line written.
let openai: TestUpstream;
let proxy: RunningProxy;
const dp = cedarDecisionPoint(TEST_POLICIES);

beforeAll(async () => {
  openai = await openAiUpstream();
  proxy = await startProxy({
    decisionPoint: dp,
    auditOff: true,
    secrets: { 'openai-key': CANARIES.openai },
    tokens: { bot: BOT_TOKEN },
    config: {
      decision: { timeoutMs: 500 },
      upstreams: [{ name: 'openai', kind: 'openai', prefix: '/openai', target: openai.url, credential: { name: 'openai-key' } }],
    },
  });
});

afterAll(async () => {
  await proxy?.close();
  await openai?.close();
});

const client = () =>
  new OpenAI({
    apiKey: BOT_TOKEN,
    baseURL: `${proxy.url}/openai/v1`,
    maxRetries: 0,
    timeout: 5000,
    defaultHeaders: { 'x-argus-intent': 'summarize', 'x-argus-goal': 'goal-1' },
  });

describe('the proxy with the audit trail off', () => {
  it('decides and forwards an allowed call, reports its usage and logs it', async () => {
    const before = openai.seen.length;
    const completion = await client().chat.completions.create({ model: 'gpt-ok', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('Hello');
    expect(openai.seen.slice(before).map((s) => s.headers.authorization)).toEqual([`Bearer ${CANARIES.openai}`]);
    await eventually(() => proxy.usage.some((u) => u.goal === 'goal-1' && u.tokens === 6));
    await eventually(() => proxy.logs.some((l) => l.includes('"proxied call"') && l.includes('"outcome":"allow"')));
    expect(proxy.events).toEqual([]);
  });

  it('refuses a denied call before the upstream, and logs it', async () => {
    const before = openai.seen.length;
    await expect(
      client().chat.completions.create({ model: 'gpt-denied', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status: 403,
    });
    expect(openai.seen.length).toBe(before);
    await eventually(() => proxy.logs.some((l) => l.includes('"proxied call"') && l.includes('"outcome":"deny"')));
    expect(proxy.events).toEqual([]);
  });
});
