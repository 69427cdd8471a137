/**
 * The console's pure browser helpers, run in node: SSE parsing, the p99 from Prometheus buckets,
 * the overview aggregates, the delegation forest, and the request rebuilt from an audit record.
 */
import { describe, expect, it } from 'vitest';

// The assets are plain browser ES modules (no types): load them by URL so TypeScript does not resolve them.
const load = (path: string) => import(new URL(`./public/js/${path}`, import.meta.url).href) as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('SSE parsing', () => {
  it('splits complete events, joins multi-line data, skips comments and keeps the rest', async () => {
    const { parseEvents } = await load('api.js');
    const out = parseEvents(
      ': connected\n\nid: w:1\nevent: decision\ndata: {"a":1}\n\nevent: decision\r\ndata: {"b":\r\ndata: 2}\r\n\r\nevent: decision\ndata: {"c"',
    );
    expect(out.events).toEqual([
      { event: 'decision', data: '{"a":1}' },
      { event: 'decision', data: '{"b":\n2}' },
    ]);
    expect(out.rest).toBe('event: decision\ndata: {"c"');
  });
});

describe('overview aggregates', () => {
  const metrics = [
    '# TYPE argus_decision_duration_seconds histogram',
    'argus_decision_duration_seconds_bucket{le="0.001",caller="apdp"} 90',
    'argus_decision_duration_seconds_bucket{le="0.01",caller="apdp"} 99',
    'argus_decision_duration_seconds_bucket{le="0.1",caller="apdp"} 100',
    'argus_decision_duration_seconds_bucket{le="+Inf",caller="apdp"} 100',
    'argus_decision_duration_seconds_bucket{le="0.001",caller="proxy"} 0',
    'argus_decision_duration_seconds_bucket{le="0.01",caller="proxy"} 0',
    'argus_decision_duration_seconds_bucket{le="0.1",caller="proxy"} 100',
    'argus_decision_duration_seconds_bucket{le="+Inf",caller="proxy"} 100',
    'argus_decisions_total{decision="allow",caller="apdp"} 150',
    'argus_decisions_total{decision="deny",caller="proxy"} 50',
  ].join('\n');

  it('sums buckets over labels and interpolates the quantile like histogram_quantile', async () => {
    const { histogramBuckets, quantile, counterBy } = await load('pages/overview.js');
    const buckets = histogramBuckets(metrics, 'argus_decision_duration_seconds');
    expect(buckets).toEqual([
      [0.001, 90],
      [0.01, 99],
      [0.1, 200],
      [Infinity, 200],
    ]);
    // rank 198 of 200 falls in (0.01, 0.1]: 0.01 + 0.09 * (198 - 99) / 101
    expect(quantile(0.99, buckets)).toBeCloseTo(0.01 + (0.09 * 99) / 101, 10);
    expect(quantile(0.4, buckets)).toBeCloseTo(0.001 * (80 / 90), 10);
    expect(quantile(0.99, [])).toBeUndefined();
    expect(counterBy(metrics, 'argus_decisions_total', 'decision')).toEqual({ allow: 150, deny: 50 });
  });

  it('counts per minute and ranks denied agents and policies within the hour', async () => {
    const { summarize } = await load('pages/overview.js');
    const now = Date.parse('2026-01-01T12:00:00Z');
    const at = (minAgo: number) => new Date(now - minAgo * 60_000 - 1000).toISOString();
    const records = [
      { time: at(0), outcome: 'deny', principal: { id: 'a' }, policies: ['p1'], codes: [] },
      { time: at(0), outcome: 'deny', principal: { id: 'a' }, policies: [], codes: ['agent_quarantined'] },
      { time: at(1), outcome: 'allow', principal: { id: 'b' }, policies: ['p0'], codes: [] },
      { time: at(2), outcome: 'deny', principal: { id: 'b' }, policies: ['p1'], codes: [] },
      { time: at(75), outcome: 'deny', principal: { id: 'old' }, policies: ['p9'], codes: [] },
    ];
    const s = summarize(records, now);
    expect(s.total).toBe(4);
    expect(s.denies).toBe(3);
    expect(s.perMinute[59]).toEqual({ allow: 0, deny: 2 });
    expect(s.perMinute[58]).toEqual({ allow: 1, deny: 0 });
    expect(s.topAgents).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(s.topPolicies[0]).toEqual(['p1', 2]);
    expect(s.topPolicies).toContainEqual(['hard deny: agent_quarantined', 1]);
  });
});

describe('delegation forest', () => {
  it('puts human grants under humans and re-delegations under their parent grant', async () => {
    const { buildForest, layout, isActive } = await load('pages/graph.js');
    const future = new Date(Date.now() + 60_000).toISOString();
    const grants = [
      {
        id: 'g1',
        from: { type: 'Human', id: 'alice' },
        to: { type: 'Agent', id: 'planner' },
        scope: { actions: [], resources: [] },
        expiresAt: future,
      },
      {
        id: 'g2',
        from: { type: 'Agent', id: 'planner' },
        to: { type: 'Agent', id: 'bot' },
        scope: { actions: [], resources: [] },
        expiresAt: future,
        parentId: 'g1',
      },
      {
        id: 'g3',
        from: { type: 'Human', id: 'carol' },
        to: { type: 'Agent', id: 'x' },
        scope: { actions: [], resources: [] },
        expiresAt: future,
        revokedAt: future,
      },
    ];
    const forest = buildForest([{ id: 'alice', email: 'a@x' }], grants);
    expect(forest.map((n: { id: string }) => n.id)).toEqual(['alice', 'carol']);
    expect(forest[0].children[0].id).toBe('planner');
    expect(forest[0].children[0].children[0].id).toBe('bot');
    const size = layout(forest);
    expect(forest[0].children[0].children[0].x).toBeGreaterThan(forest[0].children[0].x);
    expect(size.width).toBeGreaterThan(forest[0].children[0].children[0].x);
    expect(isActive(grants[0])).toBe(true);
    expect(isActive(grants[2])).toBe(false);
  });

  it('survives a parent loop', async () => {
    const { buildForest } = await load('pages/graph.js');
    const loop = [
      {
        id: 'a',
        from: { type: 'Human', id: 'h' },
        to: { type: 'Agent', id: 'x' },
        scope: { actions: [], resources: [] },
        expiresAt: '2999-01-01T00:00:00Z',
        parentId: 'b',
      },
      {
        id: 'b',
        from: { type: 'Agent', id: 'x' },
        to: { type: 'Agent', id: 'y' },
        scope: { actions: [], resources: [] },
        expiresAt: '2999-01-01T00:00:00Z',
        parentId: 'a',
      },
    ];
    expect(() => buildForest([{ id: 'h' }], loop)).not.toThrow();
  });
});

describe('live decisions', () => {
  const record = {
    decision_id: 'd1',
    outcome: 'deny',
    principal: { type: 'Agent', id: 'bot' },
    action: 'tool:call',
    resource: { type: 'Tool', id: 'crm.search' },
    intent: 'lookup-order-status',
    goal: 'g1',
    delegation: [
      { type: 'Human', id: 'alice' },
      { type: 'Agent', id: 'bot' },
    ],
    policies: ['p1'],
    codes: [],
    included: { '/input/context/ticket': 'T-1', '/input/resource/attributes/sensitivity': 'high', '/input/__proto__/polluted': true },
  };

  it('rebuilds the request from the recorded fields and the opted-in values', async () => {
    const { inputOf } = await load('pages/live.js');
    expect(inputOf(record)).toEqual({
      principal: { type: 'Agent', id: 'bot' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'high' } },
      intent: 'lookup-order-status',
      goal: 'g1',
      delegation: record.delegation,
      context: { ticket: 'T-1' },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('tells a re-run that answers differently from the record', async () => {
    const { sameAnswer } = await load('pages/live.js');
    expect(sameAnswer({ decision: 'deny', reasons: [{ policy: 'p1' }], codes: [] }, record)).toBe(true);
    expect(sameAnswer({ decision: 'deny', reasons: [], codes: [] }, record)).toBe(false);
    expect(sameAnswer({ decision: 'allow', reasons: [{ policy: 'p1' }] }, record)).toBe(false);
  });

  it('approves along the legal trust transitions only', async () => {
    const { approvalPath } = await load('pages/inventory.js');
    expect(approvalPath('discovered')).toEqual(['pending', 'trusted']);
    expect(approvalPath('quarantined')).toEqual(['pending', 'trusted']);
    expect(approvalPath('pending')).toEqual(['trusted']);
    expect(approvalPath('trusted')).toEqual([]);
    expect(approvalPath('revoked')).toEqual([]);
  });

  it('turns a tool edit into the attributes body: empty fields clear, lists split on commas, bad labels refused', async () => {
    const { toolPatch } = await load('pages/inventory.js');
    expect(toolPatch({ sensitivity: 'high', intents: ' a, b ,', category: ' crm ', labels: 'owner=sales, tier = 1' })).toEqual({
      sensitivity: 'high',
      allowedIntents: ['a', 'b'],
      category: 'crm',
      labels: { owner: 'sales', tier: '1' },
    });
    expect(toolPatch({ sensitivity: '', intents: '', category: '', labels: '' })).toEqual({
      sensitivity: null,
      allowedIntents: null,
      category: null,
      labels: null,
    });
    expect(() => toolPatch({ sensitivity: '', intents: '', category: '', labels: 'nokey' })).toThrow(/labels/);
  });
});
