import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthorizeInput, DecideOptions, DecisionEvent } from '@argus/contracts';
import { compilePolicySet, type CompiledPolicySet } from '@argus/engine';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { describe, expect, it, vi } from 'vitest';
import { buildEntities, checkRequest, DecisionService, isDenied, type GovernanceStep, type RegistryReader } from './index.ts';
import type { RequestRefusedError } from './request-checks.ts';

const CEDAR = join(import.meta.dirname, '../../../cedar');

/** The starter schema and policies (`cedar/`). */
function starterSet(): CompiledPolicySet {
  const policies = readdirSync(join(CEDAR, 'policies'))
    .filter((f) => f.endsWith('.cedar'))
    .map((file) => ({ file, text: readFileSync(join(CEDAR, 'policies', file), 'utf8') }));
  const compiled = compilePolicySet({ schema: readFileSync(join(CEDAR, 'schema.cedarschema'), 'utf8'), policies });
  if (!compiled.ok) throw new Error('starter policies do not compile');
  return compiled.policySet;
}

const AGENT = {
  id: 'support-bot',
  trust: 'trusted',
  owner: 'alice',
  kind: 'llm-agent',
  capabilities: ['tickets'],
  labels: { clearance: 'internal' },
};

function registry(agents: Record<string, typeof AGENT> = { [AGENT.id]: AGENT }): RegistryReader {
  return {
    getAgent: async (id) => agents[id],
    getHuman: async (id) => ({ id, email: `${id}@example.com`, roles: ['support'] }),
    getMcpServer: async () => undefined,
    leaseState: async (_kind, id) => (agents[id] ? 'alive' : 'expired'),
  };
}

const INPUT: AuthorizeInput = {
  principal: { type: 'Agent', id: AGENT.id },
  action: 'tool:call',
  resource: { type: 'Tool', id: 'tickets/search' },
};
const OPTIONS: DecideOptions = { caller: { kind: 'token', id: 'pep' } } as DecideOptions;

describe('the decision pipeline', () => {
  it('a timeout answers decision_timeout, commits nothing and cancels the steps not yet started', async () => {
    const usage = vi.fn(async () => ({}));
    const counted = vi.fn(async () => undefined);
    const slowGovernance: GovernanceStep = () =>
      new Promise((resolve) =>
        setTimeout(
          () => resolve({ principalParents: [], entities: [], context: { intent: '', delegation: { depth: 0, scope: [] } }, facts: {} }),
          150,
        ),
      );
    const records: DecisionEvent[] = [];
    const set = starterSet();
    const service = new DecisionService({
      policies: { current: { set } },
      registry: registry(),
      governance: slowGovernance,
      effects: { usage, counted },
      recorder: { record: async (r) => void records.push(r) },
      metrics: createMetricsRegistry(),
      logger: silentLogger(),
      decisionTimeoutMs: 30,
    });
    const response = await service.decide(INPUT, OPTIONS);
    expect(response.result.codes).toEqual(['decision_timeout']);
    await new Promise((r) => setTimeout(r, 300));
    // Governance answered after the timeout: the usage read (the next step) never ran, nothing was counted.
    expect(usage).not.toHaveBeenCalled();
    expect(counted).not.toHaveBeenCalled();
    expect(records.map((r) => r.result.codes)).toEqual([['decision_timeout']]);
  });

  it('reads the usage counters only when a policy, a quota limit, the shadow candidate or the full explanation reads them', async () => {
    const starter = starterSet();
    const overQuota =
      '@id("over-quota")\nforbid (principal, action, resource) when { context has usage && context.usage has calls_last_minute && context.usage.calls_last_minute > 5 };';
    const compiled = compilePolicySet({
      ...starter.sources,
      policies: [...starter.sources.policies, { file: 'quota.cedar', text: overQuota }],
    });
    if (!compiled.ok) throw new Error('the quota policy does not compile');
    const readingUsage = compiled.policySet;
    const decide = async (
      set: CompiledPolicySet,
      over: { limitsUsage?: boolean; candidate?: CompiledPolicySet; explain?: 'full' } = {},
    ): Promise<{ calls: number; decision: string; policies: string[]; context?: Record<string, unknown> }> => {
      const usage = vi.fn(async () => ({ calls_last_minute: 9 }));
      const service = new DecisionService({
        policies: { current: { set } },
        registry: registry(),
        effects: { usage, limitsUsage: over.limitsUsage ?? false },
        ...(over.candidate ? { shadow: { candidate: over.candidate, evaluate: () => undefined } } : {}),
        metrics: createMetricsRegistry(),
        logger: silentLogger(),
        decisionTimeoutMs: 5000,
      });
      const response = await service.decide(INPUT, { ...OPTIONS, ...(over.explain ? { explain: over.explain } : {}) });
      const context = response.result.explanation?.context as Record<string, unknown> | undefined;
      const policies = response.result.reasons.map((r) => r.policy);
      return { calls: usage.mock.calls.length, decision: response.result.decision, policies, ...(context ? { context } : {}) };
    };
    // No policy reads `context.usage` and no quota has a limit: the counters are not read, and the
    // answer is the one given with them read.
    const skipped = await decide(starter);
    const read = await decide(starter, { limitsUsage: true });
    expect(skipped.calls).toBe(0);
    expect(read.calls).toBe(1);
    expect({ ...skipped, calls: 1 }).toEqual(read);
    // A policy reads it: read, and the policy sees it.
    expect(await decide(readingUsage)).toMatchObject({ calls: 1, decision: 'deny', policies: ['over-quota'] });
    // The shadow candidate reads it, the full explanation shows it.
    expect((await decide(starter, { candidate: readingUsage })).calls).toBe(1);
    const full = await decide(starter, { explain: 'full' });
    expect(full.calls).toBe(1);
    expect(full.context?.usage).toEqual({ calls_last_minute: 9 });
  });

  it('checkRequest ends the decision without a policy set and refuses a reserved context key', () => {
    const none = checkRequest(INPUT, [], undefined);
    expect(isDenied(none) && none.denied.codes).toEqual(['no_policy_set']);
    expect(() => checkRequest({ ...INPUT, context: { usage: {} } }, [], starterSet())).toThrow(/context key `usage` is set by Argus/);
  });

  it('says where each reserved context key comes from: a top-level field, or Argus alone (`now`, `usage`)', () => {
    const why = (key: string) => {
      try {
        checkRequest({ ...INPUT, context: { [key]: 'x' } }, [], starterSet());
      } catch (err) {
        return (err as RequestRefusedError).errors;
      }
      return undefined;
    };
    expect(why('now')).toEqual([
      { path: '/input/context/now', message: 'reserved context key: Argus sets it to the decision time; a caller cannot set it' },
    ]);
    expect(why('usage')?.[0]?.message).toBe('reserved context key: Argus fills it from its quota counters; a caller cannot set it');
    expect(why('intent')?.[0]?.message).toContain('from the top-level `intent`');
    expect(why('goal')?.[0]?.message).toContain('from the top-level `goal`');
    expect(why('delegation')?.[0]?.message).toContain('top-level `delegation` or `delegationToken`');
    expect(why('toString')).toBeUndefined();
  });

  it('checkRequest refuses a supplied value Cedar cannot read, or of another type than the schema declares, naming its path', () => {
    const set = starterSet();
    const tool = (attributes: Record<string, unknown>, context: Record<string, unknown> = {}): AuthorizeInput => ({
      ...INPUT,
      action: 'tool:call',
      resource: { type: 'Tool', id: 'vault.read', attributes },
      context,
    });
    const refusal = (input: AuthorizeInput, entities: AuthorizeInput['entities'] = []) => {
      try {
        checkRequest({ ...input, ...(entities.length > 0 ? { entities } : {}) }, [], set);
      } catch (err) {
        return { reason: (err as RequestRefusedError).reason, errors: (err as RequestRefusedError).errors };
      }
      return undefined;
    };
    // Typed as the schema says, with undeclared attributes and context keys that are Cedar values: decided.
    expect(
      refusal(tool({ sensitivity: 'secret', allowedIntents: ['a'], note: { any: [1, true] } }, { method: 'GET', extra: 'x' })),
    ).toBeUndefined();
    const cases: Array<[AuthorizeInput, string, RegExp, AuthorizeInput['entities']?]> = [
      // Cedar's == across types is false: `forbid when { resource.sensitivity == "secret" }` would never fire.
      [tool({ sensitivity: ['secret'] }), '/input/resource/attributes/sensitivity', /expected a String, got a set/],
      [tool({ sensitivity: 7 }), '/input/resource/attributes/sensitivity', /expected a String, got a Long/],
      [tool({ sensitivity: 'secret', allowedIntents: ['a', 3] }), '/input/resource/attributes/allowedIntents/1', /expected a String/],
      [tool({ sensitivity: 'x' }, { method: 5 }), '/input/context/method', /expected a String/],
      [tool({ sensitivity: 'x' }, { stream: 'yes' }), '/input/context/stream', /expected a Bool/],
      // Not Cedar values, wherever they are (read by a policy or not).
      [tool({ sensitivity: 'x', note: null }), '/input/resource/attributes/note', /null/],
      [tool({ sensitivity: 'x', note: 1.5 }), '/input/resource/attributes/note', /fraction/],
      [tool({ sensitivity: 'x', 'a/b': [2 ** 60] }), '/input/resource/attributes/a~1b/0', /2\^53/],
      [tool({ sensitivity: 'x' }, { e: { __entity: null } }), '/input/context/e/__entity', /entity reference/],
      [tool({ sensitivity: 'x' }, { d: { __extn: { fn: 'decimal', arg: '1.23456' } } }), '/input/context/d/__extn', /not a valid decimal/],
      [tool({ sensitivity: 'x' }, { d: { __extn: { fn: 'eval', arg: '1' } } }), '/input/context/d/__extn', /not an extension constructor/],
      [tool({ sensitivity: 'x' }), '/input/entities/0/attrs/n', /fraction/, [{ uid: { type: 'Tool', id: 't' }, attrs: { n: 0.5 } }]],
      [
        tool({ sensitivity: 'x' }),
        '/input/entities/0/attrs/sensitivity',
        /expected a String/,
        [{ uid: { type: 'Tool', id: 't' }, attrs: { sensitivity: false } }],
      ],
    ];
    const G = (id: string, ...parents: string[]) => ({
      uid: { type: 'Tool', id },
      attrs: { sensitivity: 'x' },
      parents: parents.map((p) => ({ type: 'Tool', id: p })),
    });
    cases.push(
      [tool({ sensitivity: 'x' }), '/input/entities/1/uid', /supplied twice \(first at `\/input\/entities\/0`\)/, [G('a'), G('a')]],
      [
        tool({ sensitivity: 'x' }),
        '/input/entities/2/parents/0',
        /cycle through `Argus::Tool::"a"`/,
        [G('a', 'b'), G('b', 'c', 'z'), G('c', 'a')],
      ],
    );
    // Parents the request does not supply, shared ones and a diamond are no cycle.
    expect(refusal(tool({ sensitivity: 'x' }), [G('a', 'b', 'c'), G('b', 'd'), G('c', 'd'), G('d', 'elsewhere')])).toBeUndefined();
    for (const [input, path, message, entities] of cases) {
      const found = refusal(input, entities);
      expect(found, path).toMatchObject({ reason: 'invalid_value', errors: [{ path }] });
      expect(found!.errors[0]!.message, path).toMatch(message);
    }
  });

  it('maps a registry agent to Cedar once: principal with owner and clearance, an Agent resource without, an unknown agent with fail-closed defaults', async () => {
    const types = starterSet().entityTypes;
    const principal = await buildEntities(INPUT, registry(), types);
    expect(principal.entities.get('Argus::Agent::"support-bot"')?.attrs).toEqual({
      trust: 'trusted',
      kind: 'llm-agent',
      capabilities: ['tickets'],
      leaseAlive: true,
      owner: { __entity: { type: 'Argus::Human', id: 'alice' } },
      clearance: 'internal',
    });
    const asResource = await buildEntities(
      { principal: { type: 'Agent', id: 'ghost' }, resource: { type: 'Agent', id: AGENT.id } },
      registry(),
      types,
    );
    expect(asResource.entities.get('Argus::Agent::"support-bot"')?.attrs).toEqual({
      trust: 'trusted',
      kind: 'llm-agent',
      capabilities: ['tickets'],
      leaseAlive: false,
    });
    expect(asResource.entities.get('Argus::Agent::"ghost"')?.attrs).toEqual({
      trust: 'unregistered',
      kind: 'unknown',
      capabilities: [],
      leaseAlive: false,
    });
  });

  it('reads a tool of a large server by its name, the first of a name winning, and a tool the server lost as absent', async () => {
    const types = starterSet().entityTypes;
    const tools = Array.from({ length: 500 }, (_, i) => ({ name: `t-${i}`, hash: `h-${i}`, sensitivity: 'internal' }));
    tools.push({ name: 't-7', hash: 'second-t-7', sensitivity: 'secret' });
    const server = { id: 'tickets', trust: 'trusted', tools };
    const withServer: RegistryReader = { ...registry(), getMcpServer: async (id) => (id === 'tickets' ? server : undefined) };
    const attrsOf = async (tool: string) =>
      (await buildEntities({ ...INPUT, resource: { type: 'Tool', id: `tickets/${tool}` } }, withServer, types)).entities.get(
        `Argus::Tool::"tickets/${tool}"`,
      )?.attrs;
    expect(await attrsOf('t-7')).toMatchObject({ descriptionHash: 'h-7', sensitivity: 'internal', serverTrust: 'trusted' });
    expect(await attrsOf('t-499')).toMatchObject({ descriptionHash: 'h-499' });
    expect(await attrsOf('t-500')).not.toHaveProperty('descriptionHash');
    // The server answers a new record once its tools changed: the new list is read, not the old one's index.
    server.tools = tools.slice(0, 10).map((t) => ({ ...t, hash: `new-${t.hash}` }));
    expect(await attrsOf('t-7')).toMatchObject({ descriptionHash: 'new-h-7' });
    expect(await attrsOf('t-499')).not.toHaveProperty('descriptionHash');
  });

  it('a registry that rejects or throws answers a deny facts_unavailable', async () => {
    const set = starterSet();
    const failing = (getAgent: RegistryReader['getAgent']) =>
      new DecisionService({
        policies: { current: { set } },
        registry: { ...registry(), getAgent },
        metrics: createMetricsRegistry(),
        logger: silentLogger(),
        decisionTimeoutMs: 1_000,
      });
    const rejecting = await failing(async () => Promise.reject(new Error('connection refused'))).decide(INPUT, OPTIONS);
    expect(rejecting.result).toMatchObject({ allow: false, codes: ['facts_unavailable'] });
    const throwing = await failing(() => {
      throw new Error('store closed');
    }).decide(INPUT, OPTIONS);
    expect(throwing.result).toMatchObject({ allow: false, codes: ['facts_unavailable'] });
  });
});
