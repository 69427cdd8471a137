/**
 * `context.usage` in policy tests: the starter policies plus the fail-closed quota of
 * docs/policies.md (Reading a quota in a policy) decide a case as a fresh server decides the first
 * call (allowed), and a case gives the counts the server would have (at the cap: denied; counters
 * unreadable: denied).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuites } from './runner.ts';
import { parseSuite, type PolicyTestSuite } from './suite.ts';
import { declaredUsageNames, firstCallUsage } from './usage.ts';
import { loadWorkspace, type PolicyWorkspace } from './workspace.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'argus-policy-usage-'));

/** The quota exactly as docs/policies.md recommends writing it. */
const DOCUMENTED_QUOTA = `@id("per-human-daily-cap")
@reason("at most 100 calls a day per end user")
forbid (principal, action, resource)
unless { context has usage && context.usage has per_human_daily && context.usage.per_human_daily < 100 };
`;

const SUITE = `now: "2026-01-01T00:00:00Z"
registry:
  humans: { alice: { roles: [support] } }
  agents: { support-bot: { trust: trusted, owner: alice } }
  servers: { crm: { trust: trusted, tools: [{ name: lookup }] } }
cases:
  - name: a first call is allowed, as on a fresh server
    request: &lookup
      principal: { type: Agent, id: support-bot }
      action: tool:call
      resource: { type: Tool, id: crm/lookup, attributes: { sensitivity: internal, allowedIntents: [lookup-order-status] } }
      intent: lookup-order-status
    expect: { decision: allow, policies: [tools-serve-their-intents] }
  - name: the 100th call of the day is allowed
    usage: { calls_last_minute: 3, calls_last_hour: 40, per_human_daily: 99 }
    request: *lookup
    expect: { decision: allow }
  - name: the 101st is denied by the quota
    usage: { calls_last_minute: 0, calls_last_hour: 0, per_human_daily: 100 }
    request: *lookup
    expect: { decision: deny, policies: [per-human-daily-cap] }
  - name: a rule that does not apply leaves its counter absent, and the fail-closed form denies
    usage: { calls_last_minute: 0, calls_last_hour: 0 }
    request: *lookup
    expect: { decision: deny, policies: [per-human-daily-cap] }
  - name: counters that cannot be read deny
    usage: null
    request: *lookup
    expect: { decision: deny, policies: [per-human-daily-cap] }
`;

let workspace: PolicyWorkspace;

beforeAll(async () => {
  cpSync(join(ROOT, 'cedar'), dir, { recursive: true });
  writeFileSync(join(dir, 'policies', 'quota.cedar'), DOCUMENTED_QUOTA);
  const loaded = await loadWorkspace(dir);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded));
  workspace = loaded.workspace;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parsed = (text: string): PolicyTestSuite => {
  const p = parseSuite('usage.yaml', text);
  if (!p.ok) throw new Error(JSON.stringify(p.problems));
  return p.suite;
};

describe('context.usage in policy tests', () => {
  it('defaults to a fresh server: the built-in counters and every counter the schema declares, at 0', () => {
    const schema = readFileSync(join(ROOT, 'cedar/schema.cedarschema'), 'utf8');
    expect(declaredUsageNames(schema)).toEqual(['calls_last_hour', 'calls_last_minute', 'per_human_daily']);
    expect(firstCallUsage(schema)).toEqual({ calls_last_minute: 0, calls_last_hour: 0, per_human_daily: 0 });
    expect(firstCallUsage('entity Agent;')).toEqual({ calls_last_minute: 0, calls_last_hour: 0 });
  });

  it('decides the documented fail-closed quota as the server does: first call allowed, the cap and no counters denied', async () => {
    const run = await runSuites(workspace, [{ name: 'usage.yaml', suite: parsed(SUITE) }]);
    expect(run.cases.map((c) => [c.name, c.failures])).toEqual(run.cases.map((c) => [c.name, []]));
    expect(run.failed).toBe(0);
  });

  it("takes the suite's usage for the cases that give none", async () => {
    const suite = parsed(SUITE.replace('cases:\n', 'usage: { per_human_daily: 100 }\ncases:\n'));
    const run = await runSuites(workspace, [{ name: 'usage.yaml', suite }]);
    expect(run.cases[0]).toMatchObject({ passed: false, actual: { decision: 'deny', policies: ['per-human-daily-cap'] } });
  });

  it('refuses a malformed usage, naming the path', () => {
    const bad = parseSuite('u.yaml', SUITE.replace('per_human_daily: 99', 'per_human_daily: -1'));
    expect(bad).toMatchObject({ ok: false, problems: [{ path: '/cases/1/usage/per_human_daily', message: 'must be >= 0' }] });
  });
});
