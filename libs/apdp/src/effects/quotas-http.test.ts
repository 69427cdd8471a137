/**
 * Named quotas through `POST /v1/authorize`, on both transports (`describe.each`: the listener
 * production runs and the express app, a decision point each), over the starter policies (`cedar/`): the boundary is exact for every key
 * kind (the Nth decision allowed, the N+1th denied `quota_exceeded`), the end user is the root of
 * the delegation chain (else the agent's owner), windows slide over days and custom durations on
 * an injected clock, and a policy reads the count as `context.usage.<name>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator, silentLogger, UnavailableError } from '@argus/platform';
import { MemoryApprovalStore, MemoryWindowCounter, openSqlite, sliceSize, SqliteWindowCounter, type WindowCounter } from '@argus/store';
import type { QuotaRuleConfig } from './config.ts';
import { createDecisionEffects } from './decision-effects.ts';
import { readPolicyDir } from '../policy-files.ts';
import { PolicyHolder } from '../policy-holder.ts';
import type { ApdpDeps } from '../app.ts';
import { ADMIN_TOKEN, CEDAR_DIR, post, startHarness, TRANSPORTS, withServer, type Harness, type LooseBody } from '../testing/harness.ts';

const FUTURE = '2099-01-01T00:00:00.000Z';
/** Midnight: a whole number of every window's slices, so each boundary below is exact. */
const START = Date.parse('2030-01-01T00:00:00.000Z');
// A window's slice (`sliceSize`: a millisecond up to a minute, else a hundredth of it): a hit
// leaves the window `windowMs + sliceSize(windowMs) - 1` ms after one made at a slice's start.
/** Longer than the longest window: moving the clock by it empties every counter. */
const PAST_EVERY_WINDOW = 32 * 86_400_000;
const INTENTS = ['lookup-order-status', 'answer-customer'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A harness over the starter policies (plus `extra`), with the quota `rules` and a movable clock shared by decisions and counters. */
async function start(
  rules: QuotaRuleConfig[],
  extra: string[] = [],
  counters?: (now: () => number) => WindowCounter,
  builtin?: (now: () => number) => WindowCounter,
  overrides: Partial<ApdpDeps> = {},
): Promise<{ h: Harness; advance: (ms: number) => void }> {
  let now = START;
  const input = await readPolicyDir(CEDAR_DIR);
  const holder = new PolicyHolder();
  const loaded = holder.replace(
    { ...input, policies: [...input.policies, ...extra.map((text, i) => ({ file: `policies/quota-${i}.cedar`, text }))] },
    'api',
  );
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  // The effects read agents from the harness's store, built after them.
  const ref: { harness?: Harness } = {};
  const effects = createDecisionEffects({
    approvals: new MemoryApprovalStore(),
    registry: {
      setTrust: async () => {
        throw new Error('not in this test');
      },
      getAgent: (id) => ref.harness!.storage.registry.getAgent(id),
    },
    events: { publish: async () => {}, subscribe: () => () => {}, close: async () => {} },
    counters: counters?.(() => now) ?? new MemoryWindowCounter({ now: () => now }),
    ...(builtin ? { builtinCounters: builtin(() => now) } : {}),
    logger: silentLogger(),
    config: { approvals: { ttlMs: 60_000, retentionMs: 0 }, quotas: { enabled: true, rules } },
  });
  const harness = (ref.harness = h = await startHarness({ holder, effects, clock: () => new Date(now), ...overrides }));
  await seed(harness);
  return { h: harness, advance: (ms) => void (now += ms) };
}

/** alice owns support-bot and helper-bot (tenant acme); bob owns other-bot (tenant globex) and granted support-bot crm tools. */
async function seed(harness: Harness): Promise<void> {
  const r = harness.storage.registry;
  await r.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  await r.createHuman({ id: 'bob', email: 'bob@example.com', roles: ['support'] });
  const agents: Array<[string, string, string]> = [
    ['support-bot', 'alice', 'acme'],
    ['helper-bot', 'alice', 'acme'],
    ['other-bot', 'bob', 'globex'],
  ];
  for (const [id, owner, tenant] of agents) {
    await r.createAgent({ id, name: id, owner, kind: 'assistant', trust: 'trusted', labels: { tenant } }, 'test');
    await harness.leases.renew('agent', id, 600_000);
  }
  for (const id of ['goal-1', 'goal-2']) {
    await harness.storage.goals.create({
      id,
      owner: 'alice',
      objective: `ticket ${id}`,
      intents: INTENTS,
      agents: agents.map(([a]) => a),
      expiresAt: FUTURE,
    });
  }
  await harness.storage.delegations.create({
    id: 'bob-to-support',
    from: { type: 'Human', id: 'bob' },
    to: { type: 'Agent', id: 'support-bot' },
    scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] },
    expiresAt: FUTURE,
    createdBy: 'bob',
  });
}

/** A tool call the starter policies allow (a trusted agent, an intent the tool serves). */
function tool(agent: string, id = 'crm.search', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    principal: { type: 'Agent', id: agent },
    action: 'tool:call',
    resource: { type: 'Tool', id, attributes: { sensitivity: 'internal', allowedIntents: INTENTS } },
    intent: 'lookup-order-status',
    ...extra,
  };
}

/** A model call the starter policies allow. */
function llm(agent: string): Record<string, unknown> {
  return {
    principal: { type: 'Agent', id: agent },
    action: 'llm:invoke',
    resource: { type: 'Model', id: 'gpt-4o', attributes: { provider: 'openai' } },
    intent: 'answer-customer',
  };
}

async function decide(base: string, input: Record<string, unknown>, explain = 'reasons'): Promise<LooseBody> {
  const r = await post(base, '/v1/authorize', { input, explain });
  expect(r.status).toBe(200);
  return r.body.result as LooseBody;
}

/** The quota refusal: a hard deny carrying `quota_exceeded` and a sentence naming the rule. */
function expectQuotaDeny(result: LooseBody, rule: string): void {
  expect(result).toMatchObject({ allow: false, decision: 'deny', codes: ['quota_exceeded'] });
  expect(result.summary).toContain(`quota \`${rule}\``);
}

/** Requests that share the key value of a rule, and requests that do not. */
interface KeyCase {
  key: QuotaRuleConfig['key'];
  same: Array<Record<string, unknown>>;
  others: Array<Record<string, unknown>>;
}

const CASES: Record<string, KeyCase> = {
  principal: {
    key: ['principal'],
    same: [tool('support-bot'), tool('support-bot', 'crm.export'), llm('support-bot')],
    others: [tool('helper-bot')],
  },
  'human (two agents of one owner)': {
    key: ['human'],
    same: [tool('support-bot'), tool('helper-bot', 'crm.export')],
    others: [tool('other-bot')],
  },
  goal: {
    key: ['goal'],
    same: [tool('support-bot', 'crm.search', { goal: 'goal-1' }), tool('helper-bot', 'crm.export', { goal: 'goal-1' })],
    others: [tool('support-bot', 'crm.search', { goal: 'goal-2' })],
  },
  tenant: { key: ['tenant'], same: [tool('support-bot'), tool('helper-bot', 'crm.export')], others: [tool('other-bot')] },
  resource: { key: ['resource'], same: [tool('support-bot'), tool('helper-bot')], others: [tool('support-bot', 'crm.export')] },
  action: { key: ['action'], same: [tool('support-bot'), tool('helper-bot', 'crm.export')], others: [llm('support-bot')] },
  intent: {
    key: ['intent'],
    same: [
      tool('support-bot', 'crm.search', { intent: 'answer-customer' }),
      tool('helper-bot', 'crm.export', { intent: 'answer-customer' }),
    ],
    others: [tool('support-bot')],
  },
  'human and resource': {
    key: ['human', 'resource'],
    same: [tool('support-bot'), tool('helper-bot')],
    others: [tool('support-bot', 'crm.export'), tool('other-bot')],
  },
};

describe.each(TRANSPORTS)('the quota boundary is exact for every key kind (POST /v1/authorize, %s)', (transport) => {
  const LIMIT = 3;
  for (const [kind, c] of Object.entries(CASES)) {
    it(`${kind}: call ${LIMIT} of ${LIMIT} is allowed, call ${LIMIT + 1} denied quota_exceeded; another key value still counts from zero`, async () => {
      const w = await start([{ name: 'q', key: c.key, window: '1h', limit: LIMIT }]);
      await withServer(w.h, transport, async (base) => {
        w.advance(PAST_EVERY_WINDOW);
        for (let i = 0; i < LIMIT; i++) {
          const r = await decide(base, c.same[i % c.same.length]!);
          expect(r.allow, `${transport}: call ${i + 1} of ${LIMIT}`).toBe(true);
        }
        expectQuotaDeny(await decide(base, c.same[LIMIT % c.same.length]!), 'q');
        // A denied decision is not counted, and the rule holds for every request sharing the key.
        for (const same of c.same) expectQuotaDeny(await decide(base, same), 'q');
        for (const other of c.others)
          expect((await decide(base, other)).allow, `${transport}: ${JSON.stringify(other).slice(0, 80)}`).toBe(true);
      });
    });
  }

  it("the human is the root of the delegation chain before the agent's owner: support-bot acting for bob spends bob's quota", async () => {
    const w = await start([{ name: 'per_human', key: ['human'], window: '1d', limit: 2 }]);
    const forBob = tool('support-bot', 'crm.search', {
      delegation: [
        { type: 'Human', id: 'bob' },
        { type: 'Agent', id: 'support-bot' },
      ],
    });
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      expect((await decide(base, forBob)).allow).toBe(true);
      expect((await decide(base, tool('other-bot'))).allow).toBe(true);
      expectQuotaDeny(await decide(base, tool('other-bot')), 'per_human');
      expectQuotaDeny(await decide(base, forBob), 'per_human');
      // On its own authority support-bot acts for its owner, alice, whose quota is untouched.
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expect((await decide(base, tool('helper-bot'))).allow).toBe(true);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'per_human');
    });
  });

  it('a rule counts only its actions, and a request without a value for its key is not counted by it', async () => {
    const w = await start([
      { name: 'tools_per_goal', key: ['goal'], window: '1h', limit: 1, actions: ['tool:*'] },
      { name: 'llm_per_agent', key: ['principal'], window: '1h', limit: 1, actions: ['llm:invoke'] },
    ]);
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      expect((await decide(base, tool('support-bot', 'crm.search', { goal: 'goal-1' }))).allow).toBe(true);
      expectQuotaDeny(await decide(base, tool('helper-bot', 'crm.search', { goal: 'goal-1' })), 'tools_per_goal');
      // No goal: the per-goal rule does not apply; no tool rule per agent: unlimited.
      for (let i = 0; i < 3; i++) expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expect((await decide(base, llm('support-bot'))).allow).toBe(true);
      expectQuotaDeny(await decide(base, llm('support-bot')), 'llm_per_agent');
    });
  });

  it('two rules at once are all or nothing: the one at its limit refuses, the other is not spent', async () => {
    const w = await start([
      { name: 'per_agent', key: ['principal'], window: '1h', limit: 2 },
      { name: 'per_human', key: ['human'], window: '1h', limit: 3 },
    ]);
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'per_agent');
      // alice's per-human count is 2, not 3: the refused call spent nothing.
      expect((await decide(base, tool('helper-bot'))).allow).toBe(true);
      const over = await decide(base, tool('helper-bot'));
      expectQuotaDeny(over, 'per_human');
      expect(over.summary).not.toContain('per_agent');
    });
  });
});

describe.each(TRANSPORTS)('the embedded split: named quotas in SQLite, the built-in counters in memory (%s)', (transport) => {
  it('both are visible in context.usage; a refused call counts in neither', async () => {
    const { db } = openSqlite(':memory:');
    try {
      const w = await start(
        [{ name: 'per_human_burst', key: ['human'], window: '90s', limit: 2 }],
        [],
        (now) => new SqliteWindowCounter(db, { now }),
        (now) => new MemoryWindowCounter({ now }),
      );
      await withServer(w.h, transport, async (base) => {
        w.advance(PAST_EVERY_WINDOW);
        expect((await decide(base, tool('support-bot'))).allow).toBe(true);
        const second = await decide(base, tool('support-bot'), 'full');
        expect(second.allow).toBe(true);
        expect(second.explanation.context.usage).toEqual({ calls_last_minute: 1, calls_last_hour: 1, per_human_burst: 1 });
        expectQuotaDeny(await decide(base, tool('support-bot')), 'per_human_burst');
        expectQuotaDeny(await decide(base, tool('support-bot')), 'per_human_burst');
        // The quota window passed (and the slice of the calls, 900 ms), the hour did not: the two
        // refused calls are in neither count.
        w.advance(90_000 + sliceSize(90_000));
        const later = await decide(base, tool('support-bot'), 'full');
        expect(later.allow).toBe(true);
        expect(later.explanation.context.usage).toEqual({ calls_last_minute: 0, calls_last_hour: 2, per_human_burst: 0 });
      });
      // Only named quota hits are written to the file, and expired ones are trimmed: alice's last call is left.
      expect((db.prepare('SELECT SUM(n) AS n FROM window_runs').get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe.each(TRANSPORTS)('concurrency and read-only decisions (%s)', (transport) => {
  for (const [adapter, counters] of [
    ['memory', undefined],
    ['sqlite', (now: () => number) => new SqliteWindowCounter(openSqlite(':memory:').db, { now })],
  ] as const) {
    it(`${adapter}: 20 concurrent requests against a limit of 5 admit exactly 5`, async () => {
      const w = await start([{ name: 'per_human', key: ['human'], window: '1h', limit: 5 }], [], counters);
      await withServer(w.h, transport, async (base) => {
        w.advance(PAST_EVERY_WINDOW);
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => decide(base, tool(i % 2 === 0 ? 'support-bot' : 'helper-bot'))),
        );
        expect(
          answers.filter((r) => r.allow),
          transport,
        ).toHaveLength(5);
        for (const r of answers.filter((x) => !x.allow)) expectQuotaDeny(r, 'per_human');
      });
    });
  }

  it('a what-if sees a quota at its limit and spends nothing', async () => {
    const w = await start([{ name: 'per_agent', key: ['principal'], window: '1h', limit: 2 }], [], undefined, undefined, {
      auth: createAuthenticator({ adminToken: ADMIN_TOKEN }),
    });
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      const ask = async (whatIf: boolean) => {
        const res = await fetch(`${base}/v1/authorize`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${ADMIN_TOKEN}`,
            ...(whatIf ? { 'x-argus-what-if': 'true' } : {}),
          },
          body: JSON.stringify({ input: tool('support-bot') }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as LooseBody).result as LooseBody;
      };
      for (let i = 0; i < 3; i++) expect((await ask(true)).allow).toBe(true);
      expect((await ask(false)).allow).toBe(true);
      expect((await ask(false)).allow).toBe(true);
      expectQuotaDeny(await ask(true), 'per_agent');
      expectQuotaDeny(await ask(false), 'per_agent');
    });
  });
});

describe.each(TRANSPORTS)('windows (injected clock) (%s)', (transport) => {
  it('a day window slides: the N+1th is denied until a day after the first call, then one slot frees', async () => {
    const w = await start([{ name: 'daily', key: ['principal'], window: '1d', limit: 2 }]);
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      w.advance(3_600_000);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      w.advance(3_600_000);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'daily');
      // 1 ms before the first call leaves the window: a day and its slice (14.4 min) after it.
      w.advance(86_400_000 + sliceSize(86_400_000) - 1 - 2 * 3_600_000 - 1);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'daily');
      w.advance(1);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'daily');
    });
  });

  it('a custom window (90s) and one in milliseconds (2500)', async () => {
    const w = await start([
      { name: 'burst', key: ['principal'], window: '90s', limit: 1, actions: ['tool:call'] },
      { name: 'model_burst', key: ['principal'], window: 2_500, limit: 1, actions: ['llm:invoke'] },
    ]);
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
      expect((await decide(base, llm('support-bot'))).allow).toBe(true);
      w.advance(2_500 + sliceSize(2_500) - 2);
      expectQuotaDeny(await decide(base, llm('support-bot')), 'model_burst');
      w.advance(1);
      expect((await decide(base, llm('support-bot'))).allow).toBe(true);
      w.advance(90_000 + sliceSize(90_000) - 1 - (2_500 + sliceSize(2_500) - 1) - 1);
      expectQuotaDeny(await decide(base, tool('support-bot')), 'burst');
      w.advance(1);
      expect((await decide(base, tool('support-bot'))).allow).toBe(true);
    });
  });
});

describe.each(TRANSPORTS)('context.usage.<name> in a policy (%s)', (transport) => {
  // The fail-closed form: forbid UNLESS the count is present and under the cap, so an unreadable
  // counter denies (see docs/policies.md, Quotas).
  const CAP = `@id("per-human-daily-cap")
@reason("at most 3 calls a day per end user")
forbid (principal, action, resource)
unless { context has usage && context.usage has per_human_daily && context.usage.per_human_daily < 3 };`;

  it('a policy sees the count before this request: 3 allowed, the 4th denied by the policy; an unlimited rule counts allows only', async () => {
    const w = await start([{ name: 'per_human_daily', key: ['human'], window: '1d' }], [CAP]);
    await withServer(w.h, transport, async (base) => {
      w.advance(PAST_EVERY_WINDOW);
      for (let i = 0; i < 3; i++) {
        const r = await decide(base, tool(i % 2 === 0 ? 'support-bot' : 'helper-bot'), 'full');
        expect(r.allow).toBe(true);
        expect(r.explanation.context.usage).toMatchObject({ per_human_daily: i });
      }
      const fourth = await decide(base, tool('helper-bot'), 'full');
      expect(fourth).toMatchObject({ allow: false, decision: 'deny', reasons: [{ policy: 'per-human-daily-cap', effect: 'forbid' }] });
      expect(fourth.codes).toBeUndefined();
      expect(fourth.explanation.context.usage).toMatchObject({ per_human_daily: 3, calls_last_hour: 1 });
      // bob's agent has its own count.
      expect((await decide(base, tool('other-bot'))).allow).toBe(true);
    });
  });

  it('counters that cannot be read: the policy denies (fail closed), and a limited rule denies facts_unavailable', async () => {
    const broken: WindowCounter = {
      hit: () => Promise.reject(new UnavailableError('down')),
      hitAll: () => Promise.reject(new UnavailableError('down')),
      count: () => Promise.reject(new UnavailableError('down')),
      countAll: () => Promise.reject(new UnavailableError('down')),
    };
    const viaPolicy = await start([{ name: 'per_human_daily', key: ['human'], window: '1d' }], [CAP], () => broken);
    await withServer(viaPolicy.h, transport, async (base) => {
      expect(await decide(base, tool('support-bot'))).toMatchObject({ allow: false, reasons: [{ policy: 'per-human-daily-cap' }] });
    });
    await viaPolicy.h.close();
    const viaLimit = await start([{ name: 'per_agent', key: ['principal'], window: '1h', limit: 5 }], [], () => broken);
    await withServer(viaLimit.h, transport, async (base) => {
      expect(await decide(base, tool('support-bot'))).toMatchObject({ allow: false, decision: 'deny', codes: ['facts_unavailable'] });
    });
  });
});
