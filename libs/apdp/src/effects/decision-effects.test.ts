import { afterEach, describe, expect, it } from 'vitest';
import { MemoryApprovalStore, MemoryWindowCounter, openRedis, RedisWindowCounter, TOPICS } from '@argus/store';
import { deleteKeys, freePort, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { Redis } from 'ioredis';
import { bindingOf, createDecisionEffects } from './decision-effects.ts';
import { buildWorld, call, holderFor, seed, type World } from './testing/world.ts';
import { silentLogger } from '@argus/platform';

const TOOL = 'action == Argus::Action::"tool:call", resource is Argus::Tool';
const ALLOW_INTERNAL = `@id("allow-internal") permit (principal, ${TOOL}) when { resource.sensitivity == "internal" };`;
const GATED = `@id("gated-delete") @effect("require_approval") permit (principal, ${TOOL}) when { resource.sensitivity == "high" };`;
// The same gate, reading `context.environment`: an approval is bound to the context keys the gating policy reads.
const GATED_READS_ENV = `@id("gated-delete") @effect("require_approval") permit (principal, ${TOOL}) when { resource.sensitivity == "high" } unless { context has environment && context.environment == "never" };`;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function start(policies: string, options: Partial<Parameters<typeof buildWorld>[0]> = {}): Promise<World> {
  world = await buildWorld({ policies, ...options });
  await seed(world);
  return world;
}

describe('require_approval', () => {
  it('holds the request, then allows the approved retry once and links it to the first decision', async () => {
    const w = await start(`${ALLOW_INTERNAL}\n${GATED}`);
    const first = await w.decide(call('crm.delete', 'high'));
    expect(first.result).toMatchObject({ allow: false, decision: 'needs_approval', approval: { status: 'pending' } });
    const id = first.result.approval!.id;
    expect(first.result.approval!.expiresAt).toBe(new Date(w.now().getTime() + 60_000).toISOString());
    expect(await w.approvals.get(id, w.now())).toMatchObject({
      status: 'pending',
      decisionId: first.decision_id,
      policies: ['gated-delete'],
      resource: { type: 'Argus::Tool', id: 'crm.delete' },
    });

    await w.approvals.decide(id, { decision: 'approve', by: 'alice', at: w.now() });
    w.advance(1_000);
    const retry = await w.decide(call('crm.delete', 'high', { approval: id }));
    expect(retry.result).toMatchObject({ allow: true, decision: 'allow', approval: { id, status: 'approved' } });
    expect(await w.approvals.get(id, w.now())).toMatchObject({
      status: 'consumed',
      consumedBy: retry.decision_id,
      decisionId: first.decision_id,
    });

    const replay = await w.decide(call('crm.delete', 'high', { approval: id }));
    expect(replay.result).toMatchObject({ allow: false, decision: 'deny' });
    expect(replay.result.errors[0]).toMatchObject({ code: 'approval_consumed', message: expect.stringContaining('already used') });
    expect(replay.result.codes).toEqual(['approval_consumed']);
  });

  it('the hook answers the first decision id as relatedDecisionId', async () => {
    const approvals = new MemoryApprovalStore();
    const effects = createDecisionEffects({
      approvals,
      registry: {
        setTrust: async () => {
          throw new Error('unused');
        },
        getAgent: async () => undefined,
      },
      events: { publish: async () => {}, subscribe: () => () => {}, close: async () => {} },
      logger: silentLogger(),
      config: { approvals: { ttlMs: 1_000, retentionMs: 0 }, quotas: { enabled: false } },
    });
    const now = new Date('2030-01-01T00:00:00Z');
    const request = {
      decisionId: 'd1',
      input: call('crm.delete', 'high'),
      principal: { type: 'Argus::Agent', id: 'support-bot' },
      action: { type: 'Argus::Action', id: 'tool:call' },
      resource: { type: 'Argus::Tool', id: 'crm.delete' },
      context: { intent: 'x', now: now.toISOString() },
      now,
    };
    const held = await effects.approval(request, ['gated']);
    expect(held.status).toBe('pending');
    // Nothing is written before the decision service commits.
    expect(await approvals.get(held.id, now)).toBeUndefined();
    await held.commit!();
    await approvals.decide(held.id, { decision: 'approve', by: 'alice', at: now });
    const later = new Date(now.getTime() + 10);
    const granted = await effects.approval(
      {
        ...request,
        decisionId: 'd2',
        input: { ...request.input, approval: held.id },
        context: { intent: 'x', now: later.toISOString(), usage: { calls_last_hour: 3 } },
        now: later,
      },
      ['gated'],
    );
    expect(granted).toMatchObject({ status: 'approved', id: held.id, relatedDecisionId: 'd1' });
    expect((await approvals.get(held.id, later))!.status).toBe('approved');
    await granted.commit!();
    expect((await approvals.get(held.id, later))!.status).toBe('consumed');
  });

  it('a retry while the request is still pending stays held on the same request', async () => {
    const w = await start(GATED_READS_ENV);
    const first = await w.decide(call('crm.delete', 'high'));
    const again = await w.decide(call('crm.delete', 'high', { approval: first.result.approval!.id }));
    expect(again.result).toMatchObject({ decision: 'needs_approval', approval: { id: first.result.approval!.id, status: 'pending' } });
    const withoutId = await w.decide(call('crm.delete', 'high'));
    expect(withoutId.result.approval?.id).toBe(first.result.approval!.id);
    expect((await w.approvals.list({}, w.now())).items).toHaveLength(1);
    // Another context is another request.
    const other = await w.decide(call('crm.delete', 'high', { context: { environment: 'prod' } }));
    expect(other.result.approval?.id).not.toBe(first.result.approval!.id);
    expect((await w.approvals.list({ status: 'pending' }, w.now())).items).toHaveLength(2);
  });

  it('is refused on another resource, and the approval stays usable for its own', async () => {
    const w = await start(GATED_READS_ENV);
    const first = await w.decide(call('crm.delete', 'high'));
    const id = first.result.approval!.id;
    await w.approvals.decide(id, { decision: 'approve', by: 'alice', at: w.now() });
    const other = await w.decide(call('crm.export', 'high', { approval: id }));
    expect(other.result.decision).toBe('deny');
    expect(other.result.errors[0]!.message).toContain('another principal, action, resource or context');
    const otherContext = await w.decide(call('crm.delete', 'high', { approval: id, context: { environment: 'prod' } }));
    expect(otherContext.result.decision).toBe('deny');
    expect((await w.decide(call('crm.delete', 'high', { approval: id }))).result.decision).toBe('allow');
  });

  it('is refused after expiry', async () => {
    const w = await start(GATED, { ttlMs: 5_000 });
    const first = await w.decide(call('crm.delete', 'high'));
    const id = first.result.approval!.id;
    await w.approvals.decide(id, { decision: 'approve', by: 'alice', at: w.now() });
    w.advance(5_000);
    const late = await w.decide(call('crm.delete', 'high', { approval: id }));
    expect(late.result.decision).toBe('deny');
    expect(late.result.errors[0]!.message).toContain('expired');
  });

  it('is refused when rejected, and an unknown id is refused', async () => {
    const w = await start(GATED);
    const first = await w.decide(call('crm.delete', 'high'));
    await w.approvals.decide(first.result.approval!.id, { decision: 'reject', by: 'alice', reason: 'not today', at: w.now() });
    expect((await w.decide(call('crm.delete', 'high', { approval: first.result.approval!.id }))).result).toMatchObject({
      decision: 'deny',
      allow: false,
    });
    const unknown = await w.decide(call('crm.delete', 'high', { approval: 'no-such-approval' }));
    expect(unknown.result.decision).toBe('deny');
    expect(unknown.result.errors[0]!.message).toContain('no such approval');
  });

  it('a forbid beats an approval permit: a flat deny, no request opened', async () => {
    const w = await start(`${GATED}\n@id("no-delete-high") forbid (principal, ${TOOL}) when { resource == Argus::Tool::"crm.delete" };`);
    const r = await w.decide(call('crm.delete', 'high'));
    expect(r.result).toMatchObject({ allow: false, decision: 'deny', reasons: [{ policy: 'no-delete-high', effect: 'forbid' }] });
    expect(r.result.approval).toBeUndefined();
    expect((await w.approvals.list({}, w.now())).items).toHaveLength(0);
  });

  it('binds the context digest without now and usage', () => {
    const base = {
      principal: { type: 'Argus::Agent', id: 'a' },
      action: { type: 'Argus::Action', id: 'tool:call' },
      resource: { type: 'Argus::Tool', id: 't' },
    };
    const a = bindingOf({
      ...base,
      context: { intent: 'x', delegation: { depth: 0, scope: [] }, now: '2030-01-01T00:00:00Z', usage: { calls_last_hour: 1 } },
    });
    const b = bindingOf({ ...base, context: { delegation: { scope: [], depth: 0 }, intent: 'x', now: '2031-01-01T00:00:00Z' } });
    const c = bindingOf({ ...base, context: { intent: 'y', delegation: { depth: 0, scope: [] } } });
    expect(a.contextDigest).toBe(b.contextDigest);
    expect(a.contextDigest).not.toBe(c.contextDigest);
    expect(a.contextDigest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('observe', () => {
  it('never blocks, but the result says which forbid would have denied', async () => {
    const w = await start(
      `${ALLOW_INTERNAL}\n@id("watch-exports") @effect("observe") forbid (principal, ${TOOL}) when { resource == Argus::Tool::"crm.export" };`,
    );
    const r = await w.decide(call('crm.export'));
    expect(r.result).toMatchObject({ allow: true, decision: 'allow', observed: [{ policy: 'watch-exports', effect: 'forbid' }] });
    const quiet = await w.decide(call('crm.search'));
    expect(quiet.result.allow).toBe(true);
    expect(quiet.result.observed).toBeUndefined();
  });
});

describe('acting forbids', () => {
  const QUARANTINE = `@id("q-secret") @effect("quarantine") forbid (principal, ${TOOL}) when { resource.sensitivity == "secret" };`;

  it('quarantine: denies, moves the agent with the decision id as reason, publishes, and the next decision is a hard deny', async () => {
    const w = await start(`${ALLOW_INTERNAL}\n${QUARANTINE}`);
    const seen: unknown[] = [];
    w.events.subscribe(TOPICS.registryChanged, (p) => void seen.push(p));
    expect((await w.decide(call('crm.search'))).result.allow).toBe(true);
    const r = await w.decide(call('vault.read', 'secret'));
    expect(r.result).toMatchObject({
      allow: false,
      decision: 'deny',
      effects: [{ policy: 'q-secret', effect: 'quarantine', status: 'applied' }],
    });
    expect((await w.storage.registry.getAgent('support-bot'))?.trust).toBe('quarantined');
    const history = await w.storage.registry.trustHistory('agent', 'support-bot');
    expect(history.items.at(-1)).toMatchObject({
      from: 'trusted',
      to: 'quarantined',
      by: 'policy:q-secret',
      reason: `decision ${r.decision_id}`,
    });
    expect(seen).toContainEqual({ kind: 'agent', id: 'support-bot', change: 'trust', trust: 'quarantined' });
    const next = await w.decide(call('crm.search'));
    expect(next.result).toMatchObject({ allow: false, codes: ['agent_quarantined'] });
  });

  it('revoke over quarantine ends revoked; an agent already revoked counts as applied', async () => {
    const w = await start(
      `${ALLOW_INTERNAL}\n${QUARANTINE}\n@id("r-secret") @effect("revoke") forbid (principal, ${TOOL}) when { resource.sensitivity == "secret" };`,
    );
    const r = await w.decide(call('vault.read', 'secret'));
    expect(r.result.effects?.map((e) => e.status)).toEqual(['applied', 'applied']);
    expect((await w.storage.registry.getAgent('support-bot'))?.trust).toBe('revoked');
    const effects = createDecisionEffects({
      approvals: w.approvals,
      registry: w.storage.registry,
      events: w.events,
      logger: silentLogger(),
      config: { approvals: { ttlMs: 1_000, retentionMs: 0 }, quotas: { enabled: false } },
    });
    const now = w.now();
    const request = {
      decisionId: 'd9',
      input: call('vault.read', 'secret'),
      principal: { type: 'Argus::Agent', id: 'support-bot' },
      action: { type: 'Argus::Action', id: 'tool:call' },
      resource: { type: 'Argus::Tool', id: 'vault.read' },
      context: {},
      now,
    };
    expect(
      await effects.act(
        request,
        [
          { policy: 'q', effect: 'quarantine' },
          { policy: 'r', effect: 'revoke' },
        ],
        r.result,
      ),
    ).toEqual([
      { policy: 'q', effect: 'quarantine', status: 'applied' },
      { policy: 'r', effect: 'revoke', status: 'applied' },
    ]);
    expect(
      await effects.act(
        { ...request, principal: { type: 'Argus::Agent', id: 'ghost' } },
        [{ policy: 'q', effect: 'quarantine' }],
        r.result,
      ),
    ).toEqual([{ policy: 'q', effect: 'quarantine', status: 'failed' }]);
  });

  it('escalate without a configured queue is reported failed (and still denies)', async () => {
    const w = await start(
      `${ALLOW_INTERNAL}\n@id("esc") @effect("escalate") forbid (principal, ${TOOL}) when { resource.sensitivity == "secret" };`,
    );
    const r = await w.decide(call('vault.read', 'secret'));
    expect(r.result).toMatchObject({ decision: 'deny', effects: [{ policy: 'esc', effect: 'escalate', status: 'failed' }] });
  });
});

describe('quotas', () => {
  // Cedar's validator refuses an unguarded read of the optional `context.usage` (see the last
  // test), so a quota is written fail-closed: forbid UNLESS the counter is present and under the
  // limit (or permit only WHEN it is). A missing counter then denies.
  const UNDER = (n: number, key = 'calls_last_hour') => `context has usage && context.usage has ${key} && context.usage.${key} < ${n}`;
  const QUOTA = `${ALLOW_INTERNAL}\n@id("three-per-hour") forbid (principal, ${TOOL}) unless { ${UNDER(3)} };`;

  it('the Nth call is allowed, the N+1th denied; denied calls are not counted; counters are per resource', async () => {
    const w = await start(QUOTA, { counters: new MemoryWindowCounter() });
    for (let i = 1; i <= 3; i++) expect((await w.decide(call('crm.search'))).result.allow, `call ${i}`).toBe(true);
    const fourth = await w.decide(call('crm.search'));
    expect(fourth.result).toMatchObject({ allow: false, reasons: [{ policy: 'three-per-hour' }] });
    expect((await w.decide(call('crm.search'))).result.allow).toBe(false);
    expect((await w.decide(call('crm.export'))).result.allow).toBe(true);
  });

  it('the boundary holds on Redis counters shared by two decision services', async () => {
    const client = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 });
    const prefix = testPrefix();
    const counters = new RedisWindowCounter(client, { prefix });
    const replica = await buildWorld({ policies: QUOTA, counters });
    try {
      await seed(replica);
      const w = await start(QUOTA, { counters });
      const answers: boolean[] = [];
      for (const side of [w, replica, w, replica, w]) answers.push((await side.decide(call('crm.search'))).result.allow);
      expect(answers).toEqual([true, true, true, false, false]);
    } finally {
      await replica.close();
      await deleteKeys(SHARED_REDIS_URL, prefix);
      await client.quit();
    }
  });

  it('the minute window is exposed too, and the window slides', async () => {
    let now = 0;
    const counters = new MemoryWindowCounter({ now: () => now });
    const w = await start(`@id("two-per-minute") permit (principal, ${TOOL}) when { ${UNDER(2, 'calls_last_minute')} };`, { counters });
    expect((await w.decide(call('crm.search'))).result.allow).toBe(true);
    expect((await w.decide(call('crm.search'))).result.allow).toBe(true);
    expect((await w.decide(call('crm.search'))).result.allow).toBe(false);
    // A minute window is exact: the first hit leaves a minute after it was recorded.
    now += 59_999;
    expect((await w.decide(call('crm.search'))).result.allow).toBe(false);
    now += 1;
    expect((await w.decide(call('crm.search'))).result.allow).toBe(true);
  });

  it('an unreadable counter makes the dependent rule deny, in the forbid and in the permit form', async () => {
    const client = openRedis({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 200, commandTimeoutMs: 200 });
    try {
      const counters = new RedisWindowCounter(client, { prefix: 'argus-test:none:' });
      const w = await start(QUOTA, { counters });
      const r = await w.decide(call('crm.search'));
      expect(r.result).toMatchObject({ allow: false, decision: 'deny', reasons: [{ policy: 'three-per-hour', effect: 'forbid' }] });
      await w.close();
      const p = await start(`@id("under-three") permit (principal, ${TOOL}) when { ${UNDER(3)} };`, { counters });
      expect((await p.decide(call('crm.search'))).result).toMatchObject({ allow: false, decision: 'deny', reasons: [] });
    } finally {
      client.disconnect();
    }
  });

  it('quotas disabled: usage is absent, so rules that read it deny', async () => {
    const w = await start(QUOTA, { counters: new MemoryWindowCounter(), quotas: false });
    expect((await w.decide(call('crm.search'))).result.allow).toBe(false);
  });

  it('an unguarded read of context.usage is refused at load, with the whole set', () => {
    expect(() => holderFor(`${ALLOW_INTERNAL}\n@id("q") forbid (principal, ${TOOL}) when { context.usage.calls_last_hour > 3 };`)).toThrow(
      /optional attribute `usage/,
    );
  });
});
