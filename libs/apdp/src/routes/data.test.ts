/**
 * OPA Data API parity, on every transport that answers the route (the listener production serves
 * and the express app, both through `decision-routes.ts`): the official `@styra/opa` client, and the requests OPA's REST API documentation
 * shows (curl's default form type, GET with `?input=`, no `input`, `?pretty`, `?explain`,
 * `?metrics`, `?provenance`, `POST /`, `GET /health`, error items with `code`).
 */
import { silentLogger } from '@argus/platform';
import { OPAClient } from '@styra/opa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionEffects } from '../effects/decision-effects.ts';
import { MemoryApprovalStore } from '@argus/store';
import { PolicyHolder } from '../policy-holder.ts';
import { readPolicyDir } from '../policy-files.ts';
import {
  CEDAR_DIR,
  listen,
  seedRegistry,
  startHarness,
  toolCall,
  TRANSPORTS,
  type Harness,
  type TestServer,
  type Transport,
} from '../testing/harness.ts';

const GATED = `@id("refunds-need-approval") @effect("require_approval")
permit (principal is Argus::Agent, action == Argus::Action::"tool:call", resource is Argus::Tool)
when { resource has category && resource.category == "refunds" };`;
const refund = toolCall('support-bot', 'crm.refund', {
  sensitivity: 'internal',
  category: 'refunds',
  allowedIntents: ['lookup-order-status'],
});

let h: Harness;
let version: string;
const servers = {} as Record<Transport, TestServer>;

beforeAll(async () => {
  const input = await readPolicyDir(CEDAR_DIR);
  const holder = new PolicyHolder();
  if (!holder.replace({ ...input, policies: [...input.policies, { file: 'policies/gated.cedar', text: GATED }] }, 'api').ok)
    throw new Error('policies');
  const effects = createDecisionEffects({
    approvals: new MemoryApprovalStore(),
    registry: {
      setTrust: async () => {
        throw new Error('unused');
      },
      getAgent: async () => undefined,
    },
    events: { publish: async () => {}, subscribe: () => () => {}, close: async () => {} },
    logger: silentLogger(),
    config: { approvals: { ttlMs: 60_000, retentionMs: 0 }, quotas: { enabled: false } },
  });
  version = holder.current!.set.version;
  h = await startHarness({ holder, effects, defaultDecision: 'argus/decision' });
  await seedRegistry(h);
  for (const transport of TRANSPORTS) servers[transport] = await listen(h, transport);
});
afterAll(async () => {
  for (const transport of TRANSPORTS) void servers[transport].close();
  await h.close();
});

type Answer = { status: number; text: string; json: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function request(base: string, path: string, init: { method?: string; body?: string; type?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.type !== null) headers['content-type'] = init.type ?? 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : {} };
}

describe.each(TRANSPORTS)('the official OPA client (@styra/opa) (%s)', (transport) => {
  it('evaluates documents, tells a hold from a deny, runs the default decision, and shows error messages', async () => {
    const opa = new OPAClient(servers[transport].url);
    expect(await opa.evaluate('argus/allow', toolCall('support-bot'))).toBe(true);
    expect(await opa.evaluate('argus/decision', toolCall('support-bot'))).toBe('allow');
    expect(await opa.evaluate('argus/decision', toolCall('new-bot'))).toBe('deny');
    expect(await opa.evaluate('argus/decision', refund)).toBe('needs_approval');
    expect(await opa.evaluate('argus/allow', refund)).toBe(false);
    expect(await opa.evaluateDefault(refund)).toBe('needs_approval');
    // A refused input: the client surfaces our message (its schema needs `code` on every error item).
    const err = await opa.evaluate('argus/allow', { ...toolCall('support-bot'), action: 'tool:nope' }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/unknown action `tool:nope`|invalid_parameter/);
    expect(String((err as Error).message)).not.toMatch(/validation/i);
  });
});

describe.each(TRANSPORTS)('the requests OPA documents (%s)', (transport) => {
  const body = JSON.stringify({ input: toolCall('support-bot') });
  const call = (path: string, init: Parameters<typeof request>[2] = {}) => request(servers[transport].url, path, init);

  it('evaluates a body whatever the declared type (curl -d sends a form type); refuses only a clearly other format', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', null, 'application/json']) {
      const res = await call('/v1/data/argus/allow', { body, type });
      expect(res.status, `${transport} ${String(type)}`).toBe(200);
      expect(res.json).toMatchObject({ result: true, decision_id: expect.any(String) });
    }
    const xml = await call('/v1/data/argus/allow', { body: '<input/>', type: 'application/xml' });
    expect(xml.status).toBe(415);
    expect(xml.json.errors[0]).toMatchObject({ code: 'unsupported_media_type', message: expect.any(String) });
    // Every other route still takes JSON only.
    const form = await call('/v1/authorize', { body, type: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });

  it('GET with ?input= (URL-encoded JSON), and without input', async () => {
    const q = encodeURIComponent(JSON.stringify(refund));
    expect((await call(`/v1/data/argus/decision?input=${q}`)).json).toMatchObject({ result: 'needs_approval' });
    const bare = await call('/v1/data/argus/allow');
    expect(bare.json.result).toBe(false);
    expect(bare.json.warning).toBeUndefined();
    const bad = await call('/v1/data/argus/allow?input=%7Bnope');
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0]).toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('/query/input') });
  });

  it("POST without input is evaluated with OPA's warning, and recorded", async () => {
    for (const raw of ['{}', '']) {
      const res = await call('/v1/data/argus/allow', { body: raw });
      expect(res.status, `${transport} ${raw}`).toBe(200);
      expect(res.json).toMatchObject({
        result: false,
        warning: { code: 'api_usage_warning', message: "'input' key missing from the request" },
        decision_id: expect.any(String),
      });
    }
  });

  it('?pretty, ?metrics (timer_* in ns), ?provenance, ?explain=notes|full', async () => {
    const pretty = await call('/v1/data/argus/allow?pretty=true', { body });
    expect(pretty.text).toBe(`${JSON.stringify(pretty.json, null, 2)}\n`);
    const metrics = await call('/v1/data/argus/allow?metrics', { body });
    expect(metrics.json.metrics.timer_server_handler_ns).toBeGreaterThan(0);
    expect(Object.keys(metrics.json.metrics).every((k) => k.startsWith('timer_') && k.endsWith('_ns'))).toBe(true);
    const provenance = await call('/v1/data/argus/allow?provenance', { body });
    expect(provenance.json.provenance).toMatchObject({ revision: version, bundles: { argus: { revision: version } } });
    const deny = JSON.stringify({ input: toolCall('new-bot') });
    const notes = await call('/v1/data/argus/allow?explain=notes', { body: deny });
    expect(notes.json.explanation[0]).toMatchObject({ op: 'note', message: expect.stringContaining('no permit matched') });
    const full = await call('/v1/data/argus/authorize?explain=full', { body: deny });
    const evalEntry = full.json.explanation.find((e: { op: string }) => e.op === 'eval');
    expect(evalEntry.closest[0]).toMatchObject({ policy: 'tools-serve-their-intents' });
    expect(full.json.result.explanation.request).toBeDefined();
  });

  it('POST / answers the configured default decision unwrapped; GET /health', async () => {
    const res = await call('/', { body: JSON.stringify(refund) });
    expect(res.status).toBe(200);
    expect(res.json).toBe('needs_approval');
    const health = await call('/health');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({});
  });

  it('reads the body within the limits the other routes have: nesting too deep, a body too large (OPA error shape)', async () => {
    const deep = await call('/v1/data/argus/allow', { body: `{"input":${'['.repeat(10_000)}${']'.repeat(10_000)}}` });
    expect(deep.status).toBe(400);
    expect(deep.json.errors[0]).toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('nesting exceeds 32') });
    const large = await call('/v1/data/argus/allow', {
      body: JSON.stringify({ input: { ...toolCall('support-bot'), pad: 'x'.repeat(70_000) } }),
    });
    expect(large.status).toBe(413);
    expect(large.json.errors[0]).toMatchObject({ code: 'body_too_large' });
  });

  it('errors carry a code on every item; undefined documents answer no result', async () => {
    const notJson = await call('/v1/data/argus/allow', { body: '{"input":' });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ code: 'invalid_json', errors: [{ code: 'invalid_json' }] });
    const badInput = await call('/v1/data/argus/allow', {
      body: JSON.stringify({ input: { ...toolCall('support-bot'), action: 7 } }),
    });
    expect(badInput.status).toBe(400);
    expect(badInput.json.errors[0]).toMatchObject({ code: 'invalid_parameter', message: expect.stringContaining('/input/action') });
    expect((await call('/v1/data/other/rule', { body })).json).toEqual({});
    const argus = await call('/v1/data/argus', { body: JSON.stringify({ input: refund }) });
    expect(argus.json.result).toMatchObject({ allow: false, decision: 'needs_approval', authorize: { decision: 'needs_approval' } });
  });
});
