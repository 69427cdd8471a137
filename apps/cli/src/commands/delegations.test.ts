import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGovernanceRouter } from '@argus/apdp';
import type { IntentCatalogue } from '@argus/governance';
import { createAuthenticator, errorHandler, jsonBody, notFoundHandler, silentLogger } from '@argus/platform';
import { MemoryBudgetCounter, openStorage, type Storage } from '@argus/store';
import { serve, type RunningArgus } from './serve.ts';
import { registerDelegationCommands, runGrant, runListDelegations, runRevoke, type GrantRecord } from './delegations.ts';
import { registerGoalCommands, runCloseGoal, runCreateGoal, runListGoals, type GoalRecord } from './goals.ts';
import { expiryOf, type ServerCliIo } from './server-client.ts';

const ADMIN = 'cli-test-admin-token-0123456789';
const AGENTS = { orchestrator: 'cli-test-orchestrator-token', researcher: 'cli-test-researcher-token' };
const intents = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../../cedar/intents.json'), 'utf8')) as IntentCatalogue;

let server: Server;
let url: string;
let storage: Storage;
let dataDir: string;
let aliceJwt: string;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] };
  aliceJwt = await new SignJWT({ kind: 'human', roles: [] })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(pair.privateKey);
  dataDir = mkdtempSync(join(tmpdir(), 'argus-cli-delegations-'));
  storage = await openStorage(`sqlite:${join(dataDir, 'argus.db')}`);
  const app = express();
  app.use(jsonBody({ maxBodyBytes: 65_536, maxJsonDepth: 32 }));
  app.use(
    createGovernanceRouter({
      delegations: storage.delegations,
      goals: storage.goals,
      budget: new MemoryBudgetCounter(),
      intents,
      auth: createAuthenticator({ adminToken: ADMIN, agentTokens: AGENTS, jwks: { keys: jwks as never } }),
      events: { publish: async () => undefined },
      clock: () => new Date(),
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(silentLogger()));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await storage.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Captured extends ServerCliIo {
  out: string;
  err: string;
}
/** An io whose environment has no token unless given, and whose cwd has no `.argus/`. */
function io(env: NodeJS.ProcessEnv = {}, cwd = dataDir): Captured {
  const c: Captured = {
    out: '',
    err: '',
    env,
    cwd,
    stdout: { write: (t: string) => (c.out += t) },
    stderr: { write: (t: string) => (c.err += t) },
  };
  return c;
}

beforeEach(async () => {
  for (const g of (await storage.delegations.list({ limit: 500 })).items) await storage.delegations.revoke(g.id, 'test', 'reset');
});

const crm = { action: ['tool:call'], resource: ['Tool::"crm.*"'] };

describe('argus delegations and goals with the admin token (what `argus serve` offers without an IdP)', () => {
  it('builds alice → orchestrator → researcher, refuses a wider hop, lists, and revokes with a cascade', async () => {
    const a = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(
      await runCreateGoal(
        {
          url,
          objective: 'answer ticket 42',
          intent: ['lookup-order-status'],
          agent: ['orchestrator', 'researcher'],
          expires: '2h',
          onBehalfOf: 'alice',
          id: 'ticket-42',
          maxActions: '10',
          json: true,
        },
        a,
      ),
    ).toBe(0);
    expect((JSON.parse(a.out) as GoalRecord).owner).toBe('alice');

    const root = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runGrant('orchestrator', { url, ...crm, expires: '2h', onBehalfOf: 'alice', json: true }, root), root.err).toBe(0);
    const g1 = JSON.parse(root.out) as GrantRecord;
    expect(g1).toMatchObject({ from: { type: 'Human', id: 'alice' }, to: { type: 'Agent', id: 'orchestrator' }, createdBy: 'admin' });

    const hop = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(
      await runGrant(
        'researcher',
        { url, action: ['tool:call'], resource: ['Tool::"crm.search"'], expires: '1h', fromAgent: 'orchestrator' },
        hop,
      ),
      hop.err,
    ).toBe(0);
    expect(hop.out).toMatch(/^granted \S+: Agent::"orchestrator" → Agent::"researcher" tool:call on Tool::"crm.search" until \S+ \(below /);

    const wide = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(
      await runGrant(
        'researcher',
        { url, action: ['tool:call'], resource: ['Tool::"mail.send"'], expires: '1h', fromAgent: 'orchestrator' },
        wide,
      ),
    ).toBe(1);
    expect(wide.err).toContain(`argus delegations grant: POST ${url}/v1/delegations answered 403 forbidden`);
    expect(wide.err).toMatch(/\/scope: delegation_scope_widened: .*Tool::"mail\.send"/);

    const list = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runListDelegations({ url, active: true, json: true }, list)).toBe(0);
    const active = JSON.parse(list.out) as GrantRecord[];
    expect(active.map((g) => g.to.id).sort()).toEqual(['orchestrator', 'researcher']);
    const table = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runListDelegations({ url, to: 'researcher', active: true }, table)).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^id\s+from\s+to\s+scope\s+expires\s+state\s+parent$/);
    expect(table.out).toContain(`active  ${g1.id}`);

    const revoke = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runRevoke(g1.id, { url, reason: 'done' }, revoke)).toBe(0);
    expect(revoke.out).toMatch(/^revoked .+, .+ at /);
    const after = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runListDelegations({ url, active: true, json: true }, after)).toBe(0);
    expect(JSON.parse(after.out)).toEqual([]);
    const missing = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runRevoke('no-such-grant', { url }, missing)).toBe(1);
    expect(missing.err).toContain('404');

    const goals = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runListGoals({ url, status: 'active' }, goals)).toBe(0);
    expect(goals.out).toMatch(/ticket-42\s+active\s+alice\s+orchestrator,researcher/);
    const close = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runCloseGoal('ticket-42', { url }, close)).toBe(0);
    expect(close.out).toBe('goal ticket-42 is completed\n');
    const again = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runCloseGoal('ticket-42', { url, cancel: true }, again)).toBe(1);
    expect(again.err).toContain('409');
  });

  it('reads the token from .argus/admin-token where `argus serve` wrote it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'argus-cli-cwd-'));
    mkdirSync(join(cwd, '.argus'));
    writeFileSync(join(cwd, '.argus/admin-token'), `${ADMIN}\n`);
    const c = io({}, cwd);
    expect(await runListGoals({ url, json: true }, c), c.err).toBe(0);
    expect(Array.isArray(JSON.parse(c.out))).toBe(true);
    rmSync(cwd, { recursive: true, force: true });
  });
});

describe("with a human's and an agent's own credentials", () => {
  it('alice grants as herself; the orchestrator sub-delegates with its agent token, not beyond its grant', async () => {
    const alice = io({ ARGUS_TOKEN: aliceJwt });
    expect(await runGrant('orchestrator', { url, ...crm, expires: '2h' }, alice), alice.err).toBe(0);
    expect(alice.out).toContain('Human::"alice" → Agent::"orchestrator"');
    const orch = io();
    expect(
      await runGrant(
        'researcher',
        { url, token: AGENTS.orchestrator, action: ['tool:call'], resource: ['Tool::"crm.search"'], expires: '1h' },
        orch,
      ),
      orch.err,
    ).toBe(0);
    const late = io();
    expect(await runGrant('researcher', { url, token: AGENTS.orchestrator, ...crm, expires: '3h' }, late)).toBe(1);
    expect(late.err).toMatch(/delegation_outlives_parent/);
    const mine = io();
    expect(await runListDelegations({ url, token: AGENTS.orchestrator, fromAgent: 'orchestrator', active: true, json: true }, mine)).toBe(
      0,
    );
    expect((JSON.parse(mine.out) as GrantRecord[]).map((g) => g.to.id)).toEqual(['researcher']);
    // The researcher may not list everything, only what it gave or holds.
    const nosy = io();
    expect(await runListDelegations({ url, token: AGENTS.researcher }, nosy)).toBe(1);
    expect(nosy.err).toContain('403');
  });
});

describe('failures name the URL and the cause; exit 2 when the command cannot run', () => {
  it('no token, a rejected token, an unreachable server, bad options', async () => {
    const none = io();
    expect(await runListGoals({ url }, none)).toBe(2);
    expect(none.err).toMatch(
      /^argus goals list: no token: pass --token, set ARGUS_TOKEN or ARGUS_ADMIN_TOKEN, or run where `argus serve` wrote .*\.argus\/admin-token\n$/,
    );
    const bad = io({ ARGUS_ADMIN_TOKEN: 'wrong-token' });
    expect(await runListDelegations({ url }, bad)).toBe(2);
    expect(bad.err).toContain(`GET ${url}/v1/delegations?limit=100 answered 401`);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runRevoke('x', { url: `http://127.0.0.1:${port}` }, down)).toBe(2);
    // The wording of an unreachable server belongs to the CLI's shared helper: here, the cause and the URL.
    expect(down.err).toMatch(/^argus delegations revoke: .*ECONNREFUSED/);
    expect(down.err).toContain(`http://127.0.0.1:${port}/v1/delegations/x/revoke`);
    const opts = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runGrant('researcher', { url, action: ['tool:call'], expires: '1h' }, opts)).toBe(2);
    expect(opts.err).toMatch(/--resource/);
    const when = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(await runGrant('researcher', { url, ...crm, expires: 'tomorrow' }, when)).toBe(2);
    expect(when.err).toMatch(/--expires must be a duration/);
    const body = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    expect(
      await runCreateGoal({ url, objective: 'x', intent: ['no-such-intent'], agent: ['a'], expires: '1h', onBehalfOf: 'alice' }, body),
    ).toBe(2);
    expect(body.err).toMatch(/400 invalid_parameter: unknown intents \(\/intents\/0: intent `no-such-intent` is not in the catalogue\)/);
  });

  it('durations and dates for --expires', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(expiryOf('90s', now)).toBe('2030-01-01T00:01:30.000Z');
    expect(expiryOf('2h', now)).toBe('2030-01-01T02:00:00.000Z');
    expect(expiryOf('7d', now)).toBe('2030-01-08T00:00:00.000Z');
    expect(expiryOf('2031-05-01T10:00:00Z', now)).toBe('2031-05-01T10:00:00.000Z');
    expect(() => expiryOf('-1h', now)).toThrow(/--expires/);
  });
});

describe('the commands as registered', () => {
  it('parses repeatable options and sets the exit code', async () => {
    const c = io({ ARGUS_ADMIN_TOKEN: ADMIN });
    const program = new Command('argus').exitOverride();
    registerDelegationCommands(program, c);
    registerGoalCommands(program, c);
    await program.parseAsync([
      'node',
      'argus',
      'goals',
      'create',
      '--url',
      url,
      '--objective',
      'triage',
      '--intent',
      'lookup-order-status',
      '--intent',
      'summarize',
      '--agent',
      'orchestrator',
      '--on-behalf-of',
      'alice',
      '--json',
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    expect((JSON.parse(c.out) as GoalRecord).intents).toEqual(['lookup-order-status', 'summarize']);
    await program.parseAsync([
      'node',
      'argus',
      'delegations',
      'grant',
      'orchestrator',
      '--url',
      url,
      '--action',
      'tool:call',
      '--action',
      'llm:invoke',
      '--resource',
      'Tool::"crm.*"',
      '--on-behalf-of',
      'bob',
      '--json',
    ]);
    const g = JSON.parse(c.out.slice(c.out.lastIndexOf('{\n  "id"'))) as GrantRecord;
    expect(g.scope.actions).toEqual(['tool:call', 'llm:invoke']);
    await program.parseAsync(['node', 'argus', 'delegations', 'revoke', 'no-such-grant', '--url', url]);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  });
});

describe('against `argus serve` alone, as docs/delegation.md shows it', () => {
  let dir: string;
  let running: RunningArgus;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'argus-cli-serve-'));
    running = await serve({
      dataDir: join(dir, '.argus'),
      port: '0',
      banner: false,
      policies: resolve(import.meta.dirname, '../../../../cedar'),
    });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('builds human → agent → sub-agent with the admin token from .argus/admin-token; the researcher is allowed, then denied once revoked', async () => {
    // `argus serve` writes the token file unless ARGUS_ADMIN_TOKEN is set; the CLI then reads the same variable.
    const fromEnv = process.env.ARGUS_ADMIN_TOKEN;
    const env = fromEnv ? { ARGUS_ADMIN_TOKEN: fromEnv } : {};
    const token = fromEnv ?? readFileSync(join(dir, '.argus/admin-token'), 'utf8').trim();
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${running.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await post('/v1/registry/humans', { id: 'alice', email: 'alice@example.com', roles: ['support'] })).status).toBe(201);
    for (const id of ['orchestrator', 'researcher'])
      expect((await post('/v1/registry/agents', { id, name: id, owner: 'alice', trust: 'trusted' })).status).toBe(201);
    const u = running.url;
    const goal = io(env, dir);
    expect(
      await runCreateGoal(
        {
          url: u,
          onBehalfOf: 'alice',
          id: 'ticket-42',
          objective: 'answer ticket 42',
          intent: ['lookup-order-status'],
          agent: ['orchestrator', 'researcher'],
          expires: '24h',
          maxActions: '50',
        },
        goal,
      ),
      goal.err,
    ).toBe(0);
    const root = io(env, dir);
    expect(
      await runGrant(
        'orchestrator',
        { url: u, onBehalfOf: 'alice', action: ['tool:call'], resource: ['Tool::"crm.*"'], expires: '8h', json: true },
        root,
      ),
      root.err,
    ).toBe(0);
    const rootId = (JSON.parse(root.out) as GrantRecord).id;
    const hop = io(env, dir);
    expect(
      await runGrant(
        'researcher',
        { url: u, fromAgent: 'orchestrator', action: ['tool:call'], resource: ['Tool::"crm.search"'], expires: '1h' },
        hop,
      ),
      hop.err,
    ).toBe(0);
    const wide = io(env, dir);
    expect(
      await runGrant(
        'researcher',
        { url: u, fromAgent: 'orchestrator', action: ['tool:call'], resource: ['Tool::"mail.send"'], expires: '1h' },
        wide,
      ),
    ).toBe(1);
    expect(wide.err).toMatch(/delegation_scope_widened/);

    const decide = async (tool: string) => {
      const input = {
        principal: { type: 'Agent', id: 'researcher' },
        action: 'tool:call',
        resource: { type: 'Tool', id: tool, attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
        intent: 'lookup-order-status',
        goal: 'ticket-42',
        delegation: [
          { type: 'Human', id: 'alice' },
          { type: 'Agent', id: 'orchestrator' },
          { type: 'Agent', id: 'researcher' },
        ],
      };
      const r = await post('/v1/authorize', { input });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.result as { allow: boolean; codes?: string[] };
    };
    expect((await decide('crm.search')).allow).toBe(true);
    expect(await decide('crm.update')).toMatchObject({ allow: false, codes: ['delegation_out_of_scope'] });

    const revoke = io(env, dir);
    expect(await runRevoke(rootId, { url: u, reason: 'ticket closed' }, revoke), revoke.err).toBe(0);
    expect(revoke.out).toMatch(/^revoked .+, .+ at /);
    expect(await decide('crm.search')).toMatchObject({ allow: false, codes: ['delegation_revoked'] });
    const close = io(env, dir);
    expect(await runCloseGoal('ticket-42', { url: u }, close)).toBe(0);
  }, 60_000);
});
