import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { validatorFor } from '@argus/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startProxy, type RunningProxy } from './testing/harness.ts';
import { CANARIES } from './testing/policies.ts';
import { seedTrustedBot, starterDecisionPoint, type StarterDecisionPoint } from './testing/starter-decision-point.ts';
import { anthropicUpstream, openAiUpstream, type TestUpstream } from './testing/upstreams.ts';

// Errors in the caller's dialect (issue 16 item 4), read through the real SDKs, decided by the
// shipped starter policies (plus one forbid with a `@reason`) and the real decision service.
const TOKENS = { bot: 'argus_sdk_bot_1f2e3d4c5b', jailed: 'argus_sdk_jailed_9a8b7c6d', ghost: 'argus_sdk_ghost_0f1e2d3c' };
const RESERVED = 'the o1 models are reserved for humans';
let openai: TestUpstream;
let anthropic: TestUpstream;
let starter: StarterDecisionPoint;
const proxies: Partial<Record<'code' | 'reason' | 'full', RunningProxy>> = {};

beforeAll(async () => {
  openai = await openAiUpstream();
  anthropic = await anthropicUpstream();
  starter = await starterDecisionPoint({
    'no-o1': `@id("no-o1-for-agents")\n@reason("${RESERVED}")\nforbid (principal is Argus::Agent, action == Argus::Action::"llm:invoke", resource == Argus::Model::"o1-preview");`,
  });
  const r = starter.storage.registry;
  await seedTrustedBot(starter);
  await r.createAgent({ id: 'jailed', name: 'jailed', owner: 'alice', kind: 'assistant', trust: 'quarantined' }, 'test');
  for (const detail of ['code', 'reason', 'full'] as const) {
    proxies[detail] = await startProxy({
      decisionPoint: starter.decisionPoint,
      secrets: { 'openai-key': CANARIES.openai, 'anthropic-key': CANARIES.anthropic },
      tokens: TOKENS,
      config: {
        decision: { timeoutMs: 2000 },
        ...(detail === 'reason' ? {} : { denyDetail: detail }),
        upstreams: [
          { name: 'openai', kind: 'openai', prefix: '/openai', target: openai.url, credential: { name: 'openai-key' } },
          { name: 'anthropic', kind: 'anthropic', prefix: '/anthropic', target: anthropic.url, credential: { name: 'anthropic-key' } },
          { name: 'internal', kind: 'http', prefix: '/internal', target: openai.url, credential: { name: 'openai-key' } },
        ],
      },
    });
  }
});

afterAll(async () => {
  for (const p of Object.values(proxies)) await p.close();
  await openai?.close();
  await anthropic?.close();
  await starter?.close();
});

function gpt(token: string, detail: 'code' | 'reason' | 'full' = 'reason'): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${proxies[detail]!.url}/openai/v1`, maxRetries: 0, timeout: 5000 });
}

function claude(token: string): Anthropic {
  return new Anthropic({ apiKey: token, baseURL: `${proxies.reason!.url}/anthropic`, maxRetries: 0, timeout: 5000 });
}

const ask = (client: OpenAI, model: string) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
const askClaude = (client: Anthropic, model: string) =>
  client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);

/** The decision id quoted at the end of a refusal message. */
function decisionIdIn(message: string): string {
  const m = /\(decision ([0-9a-f-]{36})\)/.exec(message);
  expect(m, message).not.toBeNull();
  return m![1]!;
}

describe('the openai SDK reads every refusal', () => {
  it('allows the trusted agent (the starter policies permit it), so the denials below are the policies talking', async () => {
    const ok = await gpt(TOKENS.bot).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.choices[0]?.message.content).toBe('Hello');
  });

  it('a forbid shows its @reason and the decision id; the error carries type, code and decision id', async () => {
    const err = await ask(gpt(TOKENS.bot), 'o1-preview');
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.message).toContain(RESERVED);
    const id = decisionIdIn(e.message);
    expect(e.code).toBe('forbidden');
    expect(e.type).toBe('permission_error');
    expect(e.param).toBeNull();
    expect(e.error).toMatchObject({ decision_id: id, decision: 'deny', codes: ['policy_forbid'] });
    // Policy ids and annotations stay out at the default detail.
    expect(JSON.stringify(e.error)).not.toContain('no-o1-for-agents');
    await eventually(() => proxies.reason!.events.some((ev) => ev.decisionId === id));
  });

  it('a hard deny says its code in words', async () => {
    const e = (await ask(gpt(TOKENS.jailed), 'gpt-4o')) as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.message).toMatch(/^403 denied: agent quarantined \(decision [0-9a-f-]{36}\)$/);
    expect(e.error).toMatchObject({ codes: ['agent_quarantined'] });
  });

  it('an agent no policy permits (unregistered) is told so, with the decision id', async () => {
    const e = (await ask(gpt(TOKENS.ghost), 'gpt-4o')) as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.message).toMatch(/^403 denied: no permit \(decision [0-9a-f-]{36}\)$/);
  });

  it('401, 403 and 400 are distinguishable, each with a readable message', async () => {
    const unauth = (await ask(gpt('argus_not_a_known_token'), 'gpt-4o')) as InstanceType<typeof OpenAI.APIError>;
    expect(unauth).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(unauth.message).toBe('401 missing or invalid agent credential');
    expect(unauth.type).toBe('authentication_error');
    const bad = (await ask(gpt(TOKENS.bot), '')) as InstanceType<typeof OpenAI.APIError>;
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.message).toBe('400 request body must name a `model`');
    expect(bad.param).toBe('model');
    expect(bad.code).toBe('invalid_parameter');
    const denied = (await ask(gpt(TOKENS.bot), 'o1-preview')) as InstanceType<typeof OpenAI.APIError>;
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    for (const e of [unauth, bad, denied]) expect(e.message).not.toContain('no body');
  });

  it('denyDetail code: codes and decision id only; full: also the deciding policies', async () => {
    const coded = (await ask(gpt(TOKENS.bot, 'code'), 'o1-preview')) as InstanceType<typeof OpenAI.APIError>;
    expect(coded.message).toMatch(/^403 denied: policy_forbid \(decision [0-9a-f-]{36}\)$/);
    expect(JSON.stringify(coded.error)).not.toContain(RESERVED);
    const full = (await ask(gpt(TOKENS.bot, 'full'), 'o1-preview')) as InstanceType<typeof OpenAI.APIError>;
    expect(full.message).toContain(RESERVED);
    expect((full.error as { reasons: unknown }).reasons).toEqual([
      { policy: 'no-o1-for-agents', effect: 'forbid', annotations: expect.objectContaining({ reason: RESERVED }) },
    ]);
  });
});

describe('the @anthropic-ai/sdk reads every refusal', () => {
  it('a forbid: PermissionDeniedError whose message carries the reason and the decision id', async () => {
    const err = await askClaude(claude(TOKENS.bot), 'o1-preview');
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const e = err as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(e.message).toContain(RESERVED);
    const id = decisionIdIn(e.message);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'permission_error', decision_id: id, codes: ['policy_forbid'] } });
  });

  it('401, 403 and 400 are distinguishable', async () => {
    expect(await askClaude(claude('argus_not_a_known_token'), 'claude-x')).toBeInstanceOf(Anthropic.AuthenticationError);
    const bad = (await askClaude(claude(TOKENS.bot), '')) as InstanceType<typeof Anthropic.APIError>;
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect(bad.message).toContain('request body must name a `model`');
    expect(await askClaude(claude(TOKENS.jailed), 'claude-x')).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });
});

describe('other routes keep the Argus shape', () => {
  it('an http upstream answers the documented refusal', async () => {
    const res = await fetch(`${proxies.reason!.url}/internal/v1/things`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.bot}` },
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { message: string; codes: string[] };
    expect(validatorFor('https://argus.dev/schemas/proxy/denied-response.json')(body)).toMatchObject({ ok: true });
    expect(body.codes).toEqual(['no_permit']);
    expect(body.message).toMatch(/\(decision [0-9a-f-]{36}\)$/);
  });
});
