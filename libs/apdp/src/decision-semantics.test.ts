/**
 * Decision semantics a policy author relies on, through the public HTTP API on both transports
 * (`describe.each`: the listener production serves and the express app, a decision point each):
 * approval gates that overlap cannot bypass, side effects only after the final answer (never on a
 * hold or a timeout), every refused request recorded, registered agents only, and denies that say why.
 */
import type { DecisionEvent } from '@argus/contracts';
import { silentLogger } from '@argus/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecisionEffects } from './effects/decision-effects.ts';
import { MemoryApprovalStore } from '@argus/store';
import { PolicyHolder } from './policy-holder.ts';
import { readPolicyDir } from './policy-files.ts';
import { CEDAR_DIR, post, seedRegistry, startHarness, toolCall, TRANSPORTS, withServer, type Harness } from './testing/harness.ts';
import type { ApdpDeps } from './app.ts';

const GATED = `@id("refunds-need-approval")
@reason("refunds wait for a human")
@effect("require_approval")
permit (principal is Argus::Agent, action == Argus::Action::"tool:call", resource is Argus::Tool)
when { resource has category && resource.category == "refunds" };`;

const QUARANTINE = `@id("exfil-quarantines")
@reason("exporting everything quarantines the agent")
@effect("quarantine")
forbid (principal, action == Argus::Action::"tool:call", resource is Argus::Tool)
when { resource has category && resource.category == "bulk-export" };`;

const FUTURE = '2099-01-01T00:00:00.000Z';
const refund = (extra: Record<string, unknown> = {}) => ({
  ...toolCall('support-bot', 'crm.refund', { sensitivity: 'internal', category: 'refunds', allowedIntents: ['lookup-order-status'] }),
  ...extra,
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function holderWith(...extra: string[]): Promise<PolicyHolder> {
  const input = await readPolicyDir(CEDAR_DIR);
  const holder = new PolicyHolder();
  const r = holder.replace(
    { ...input, policies: [...input.policies, ...extra.map((text, i) => ({ file: `policies/extra-${i}.cedar`, text }))] },
    'api',
  );
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return holder;
}

/** A harness with approvals in memory and a recorder that keeps every event. */
async function start(options: { policies?: string[]; overrides?: Partial<ApdpDeps>; slowRegistryMs?: number } = {}) {
  const approvals = new MemoryApprovalStore();
  const events: DecisionEvent[] = [];
  let trustMoves = 0;
  const effects = createDecisionEffects({
    approvals,
    registry: {
      setTrust: async () => {
        trustMoves++;
        throw new Error('not in this test');
      },
      getAgent: async () => undefined,
    },
    events: { publish: async () => {}, subscribe: () => () => {}, close: async () => {} },
    logger: silentLogger(),
    config: { approvals: { ttlMs: 60_000, retentionMs: 0 }, quotas: { enabled: false } },
  });
  h = await startHarness({
    holder: await holderWith(...(options.policies ?? [GATED])),
    effects,
    recorder: { record: async (e) => void events.push(e) },
    ...options.overrides,
  });
  await seedRegistry(h);
  await h.storage.goals.create({
    id: 'goal-1',
    owner: 'alice',
    objective: 'refund order 1',
    intents: ['lookup-order-status'],
    agents: ['support-bot'],
    expiresAt: FUTURE,
    budget: { maxActions: 5 },
  });
  return { h, approvals, events, trustMoves: () => trustMoves };
}

describe.each(TRANSPORTS)('approval gates cannot be bypassed by overlap (strict reading) (%s)', (transport) => {
  it('a plain permit that also matches does not remove the hold; the approval is single-use and bound', async () => {
    const { h, approvals } = await start();
    await withServer(h, transport, async (base) => {
      const first = await post(base, '/v1/authorize', { input: refund() });
      expect(first.status, transport).toBe(200);
      expect(first.body.result).toMatchObject({ allow: false, decision: 'needs_approval', approval: { status: 'pending' } });
      // Both permits matched: the plain one did not bypass the gate.
      expect(first.body.result.reasons.map((r: { policy: string }) => r.policy).sort()).toEqual([
        'refunds-need-approval',
        'tools-serve-their-intents',
      ]);
      const id = first.body.result.approval.id as string;
      // Only the gating permit is named on the approval request.
      expect(await approvals.get(id, new Date())).toMatchObject({ status: 'pending', policies: ['refunds-need-approval'] });
      await approvals.decide(id, { decision: 'approve', by: 'alice', at: new Date() });
      // Bound to the resource: the approval does not open another tool.
      const other = await post(base, '/v1/authorize', {
        input: {
          ...refund({ approval: id }),
          resource: {
            type: 'Tool',
            id: 'crm.refund-all',
            attributes: { sensitivity: 'internal', category: 'refunds', allowedIntents: ['lookup-order-status'] },
          },
        },
      });
      expect(other.body.result).toMatchObject({ decision: 'deny', codes: ['approval_mismatch'] });
      const retry = await post(base, '/v1/authorize', { input: refund({ approval: id }) });
      expect(retry.body.result).toMatchObject({ allow: true, decision: 'allow', approval: { id, status: 'approved' } });
      const replay = await post(base, '/v1/authorize', { input: refund({ approval: id }) });
      expect(replay.body.result).toMatchObject({ allow: false, decision: 'deny', codes: ['approval_consumed'] });
    });
  });
});

describe.each(TRANSPORTS)('an approval is bound to the context keys the gating policy reads (%s)', (transport) => {
  const ENV_GATED = `@id("prod-refunds-need-approval") @effect("require_approval")
permit (principal is Argus::Agent, action == Argus::Action::"tool:call", resource is Argus::Tool)
when { resource has category && resource.category == "refunds" && context has environment };`;

  it('a retry that changes a key the policy reads is a mismatch; one that changes only other keys is granted once', async () => {
    const { h, approvals } = await start({ policies: [ENV_GATED] });
    await withServer(h, transport, async (base) => {
      const held = await post(base, '/v1/authorize', { input: refund({ context: { environment: 'prod', path: '/orders/1' } }) });
      expect(held.body.result.decision).toBe('needs_approval');
      const id = held.body.result.approval.id as string;
      await approvals.decide(id, { decision: 'approve', by: 'alice', at: new Date() });
      const otherEnv = await post(base, '/v1/authorize', {
        input: refund({ approval: id, context: { environment: 'staging', path: '/orders/1' } }),
      });
      expect(otherEnv.body.result).toMatchObject({ decision: 'deny', codes: ['approval_mismatch'] });
      const otherIntent = await post(base, '/v1/authorize', {
        input: refund({ approval: id, intent: 'research', context: { environment: 'prod', path: '/orders/1' } }),
      });
      expect(otherIntent.body.result.decision).toBe('deny');
      const otherPath = await post(base, '/v1/authorize', {
        input: refund({ approval: id, context: { environment: 'prod', path: '/orders/2' } }),
      });
      expect(otherPath.body.result).toMatchObject({ decision: 'allow', approval: { id, status: 'approved' } });
      const again = await post(base, '/v1/authorize', {
        input: refund({ approval: id, context: { environment: 'prod', path: '/orders/3' } }),
      });
      expect(again.body.result).toMatchObject({ decision: 'deny', codes: ['approval_consumed'] });
    });
  });
});

describe.each(TRANSPORTS)('side effects are committed only once the final answer is known (#19) (%s)', (transport) => {
  it('a request that ends needs_approval spends no goal budget; the approved retry spends one', async () => {
    const { h, approvals } = await start();
    await withServer(h, transport, async (base) => {
      await h.budget.reset('goal-1');
      const held = await post(base, '/v1/authorize', { input: refund({ goal: 'goal-1' }) });
      expect(held.body.result.decision).toBe('needs_approval');
      expect((await h.budget.get('goal-1')).actions ?? 0).toBe(0);
      const again = await post(base, '/v1/authorize', { input: refund({ goal: 'goal-1' }) });
      expect(again.body.result.approval.id).toBe(held.body.result.approval.id);
      expect((await h.budget.get('goal-1')).actions ?? 0).toBe(0);
      await approvals.decide(held.body.result.approval.id, { decision: 'approve', by: 'alice', at: new Date() });
      const retry = await post(base, '/v1/authorize', { input: refund({ goal: 'goal-1', approval: held.body.result.approval.id }) });
      expect(retry.body.result.decision).toBe('allow');
      expect((await h.budget.get('goal-1')).actions).toBe(1);
    });
  });

  it('a decision that times out commits nothing: no budget spent, no approval opened, no quarantine', async () => {
    let delayMs = 0;
    const { h, approvals, trustMoves } = await start({
      policies: [GATED, QUARANTINE],
      overrides: { limits: { maxBodyBytes: 65_536, maxJsonDepth: 32, maxBatchSize: 10, decisionTimeoutMs: 100 } },
    });
    // The goal read is slowed past the decision timeout, after the registry facts were read.
    const goals = h.storage.goals;
    const get = goals.get.bind(goals);
    goals.get = async (id: string) => {
      await new Promise((r) => setTimeout(r, delayMs));
      return get(id);
    };
    await withServer(h, transport, async (base) => {
      delayMs = 0;
      // Fast: the plain call spends one unit of the goal's budget (the test can see a commit).
      await h.budget.reset('goal-1');
      expect(
        (await post(base, '/v1/authorize', { input: { ...toolCall('support-bot'), goal: 'goal-1' } })).body.result.decision,
        transport,
      ).toBe('allow');
      expect((await h.budget.get('goal-1')).actions).toBe(1);
      delayMs = 300;
      for (const input of [
        { ...toolCall('support-bot'), goal: 'goal-1' },
        refund({ goal: 'goal-1' }),
        { ...toolCall('support-bot', 'crm.dump', { sensitivity: 'internal', category: 'bulk-export' }), goal: 'goal-1' },
      ]) {
        const answer = await post(base, '/v1/authorize', { input });
        expect(answer.body.result, transport).toMatchObject({ allow: false, decision: 'deny', codes: ['decision_timeout'] });
      }
      // Let the timed-out work finish: it must not commit anything.
      await new Promise((r) => setTimeout(r, 500));
      expect((await h.budget.get('goal-1')).actions).toBe(1);
      expect((await approvals.list({}, new Date())).items).toHaveLength(0);
      expect(trustMoves()).toBe(0);
    });
  });
});

describe.each(TRANSPORTS)('every decision request is recorded, refused ones included (%s)', (transport) => {
  it('refuses bad action, unknown type and bad ids with a 400 carrying a decision_id, each recorded as a deny with its code', async () => {
    const { h, events } = await start();
    await withServer(h, transport, async (base) => {
      const cases: Array<[string, string, string]> = [
        [JSON.stringify({ input: { ...toolCall('support-bot'), action: 'tool:nope' } }), 'unknown_action', '/input/action'],
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), principal: { type: 'Robot', id: 'r2' } } }),
          'unknown_entity_type',
          '/input/principal/type',
        ],
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), principal: { type: 'Agent', id: '   ' } } }),
          'invalid_id',
          '/input/principal/id',
        ],
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), principal: { type: 'Agent', id: ' support-bot' } } }),
          'invalid_id',
          '/input/principal/id',
        ],
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), resource: { type: 'Tool', id: 'crm\u0007search' } } }),
          'invalid_id',
          '/input/resource/id',
        ],
        // A lone UTF-16 surrogate, escaped in the JSON text as a client would send it.
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), principal: { type: 'Agent', id: 'LONE' } } }).replace('LONE', '\\ud800bot'),
          'invalid_id',
          '/input/principal/id',
        ],
        [
          JSON.stringify({ input: { ...toolCall('support-bot'), context: { ticket: 'LONE' } } }).replace('LONE', 'x\\udc00'),
          'invalid_string',
          '/input/context/ticket',
        ],
        [JSON.stringify({ input: { ...toolCall('support-bot'), goal: ' goal-1' } }), 'invalid_id', '/input/goal'],
      ];
      for (const [body, code, path] of cases) {
        const before = events.length;
        const res = await post(base, '/v1/authorize', body);
        expect(res.status, `${transport} ${code} ${body}`).toBe(400);
        expect(res.body.code).toBe('invalid_parameter');
        expect(res.body.errors[0].path).toBe(path);
        expect(res.body.decision_id, `${transport} ${code} ${JSON.stringify(res.body)}`).toMatch(/^[0-9a-f-]{36}$/);
        expect(events.length).toBe(before + 1);
        const recorded = events.at(-1)!;
        expect(recorded.decisionId).toBe(res.body.decision_id);
        expect(recorded.result).toMatchObject({ allow: false, decision: 'deny', codes: [code] });
        expect(recorded.result.errors[0]).toMatchObject({ code });
        // The record stays well-formed: no lone surrogate reaches the audit trail.
        expect(wellFormed(recorded.input)).toBe(true);
      }
    });
  });
});

describe.each(TRANSPORTS)('registered agents only (registry.requireRegistered) (%s)', (transport) => {
  it('on: an unknown agent is a hard deny agent_unknown with a sentence, whatever the policies say', async () => {
    const { h } = await start({ overrides: { registry: { ...STATIC_REGISTRY, requireRegistered: true } } });
    await withServer(h, transport, async (url) => {
      const res = await post(url, '/v1/authorize', { input: toolCall('stranger') });
      expect(res.body.result).toMatchObject({ allow: false, decision: 'deny', codes: ['agent_unknown'], reasons: [] });
      expect(res.body.result.summary).toMatch(/agent_unknown — agent `stranger` is not registered/);
      expect((await post(url, '/v1/authorize', { input: toolCall('support-bot') })).body.result.decision).toBe('allow');
    });
  });

  it('off (the embedded quick start): the facts say an unregistered agent is decided by the policies', async () => {
    const { h } = await start();
    await withServer(h, transport, async (url) => {
      const res = await post(url, '/v1/authorize', { input: toolCall('stranger') });
      expect(res.body.result.codes).toBeUndefined();
      expect(res.body.result.facts.registry).toMatchObject({ requireRegistered: false });
    });
  });
});

describe.each(TRANSPORTS)('denies explain themselves (%s)', (transport) => {
  it('a default deny has a one-line reason, and at explain=full the closest permit and the failed condition', async () => {
    const { h } = await start();
    await withServer(h, transport, async (url) => {
      const plain = await post(url, '/v1/authorize', { input: toolCall('new-bot') });
      expect(plain.body.result).toMatchObject({ decision: 'deny', reasons: [] });
      expect(plain.body.result.summary).toBe(
        'no permit matched `tool:call` by Argus::Agent::"new-bot" on Argus::Tool::"crm.search" (default deny)',
      );
      expect(plain.body.result.explanation).toBeUndefined();
      const full = await post(url, '/v1/authorize', { input: toolCall('new-bot'), explain: 'full' });
      const closest = full.body.result.explanation.closest;
      expect(closest[0]).toMatchObject({ policy: 'tools-serve-their-intents', scopeMatched: true });
      expect(closest[0].failed[0]).toMatchObject({
        kind: 'when',
        outcome: 'fails',
        text: expect.stringContaining('principal.trust == "trusted"'),
        values: { 'principal.trust': 'pending' },
      });
    });
  });

  it('a forbid names itself and its reason; a hard deny carries its code and a sentence', async () => {
    const { h } = await start();
    await h.storage.registry.createAgent({ id: 'q-bot', name: 'Q', owner: 'alice', trust: 'quarantined' }, 'test');
    await withServer(h, transport, async (url) => {
      const forbid = await post(url, '/v1/authorize', {
        input: toolCall('support-bot', 'vault.read', { sensitivity: 'secret', allowedIntents: ['lookup-order-status'] }),
      });
      expect(forbid.body.result.summary).toBe(
        'denied by forbid `secret-tools-need-clearance` (secret tools need an agent with clearance high)',
      );
      const hard = await post(url, '/v1/authorize', { input: toolCall('q-bot') });
      expect(hard.body.result).toMatchObject({
        codes: ['agent_quarantined'],
        summary: 'hard deny: agent_quarantined — agent `q-bot` is quarantined',
      });
    });
  });
});

/** A registry that knows support-bot (trusted, live lease) and alice. */
const STATIC_REGISTRY: ApdpDeps['registry'] = {
  getAgent: async (id) =>
    id === 'support-bot' ? { id, trust: 'trusted', owner: 'alice', kind: 'assistant', capabilities: ['crm'], labels: {} } : undefined,
  getHuman: async (id) => (id === 'alice' ? { id, email: 'alice@example.com', roles: ['finance'] } : undefined),
  getMcpServer: async () => undefined,
  leaseState: async (_k, id) => (id === 'support-bot' ? 'alive' : 'expired'),
};

/** Whether every string (key or value) in `value` is well-formed UTF-16. */
function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return (value as string & { isWellFormed(): boolean }).isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
}
