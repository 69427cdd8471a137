/**
 * Sub-agent delegation end to end, over HTTP, with a real credential of each kind:
 *
 * - alice, a human, authenticates with a JWT signed by her IdP (a local JWKS);
 * - the orchestrator and the researcher, agents, authenticate with their own agent tokens;
 * - the admin uses the static admin token.
 *
 * The grants go through a governance API (the apdp's governance routes) over the shared SQLite
 * store; the decisions are asked of two decision-point replicas running as separate processes
 * (`apps/apdp/src/main.ts`, the shipped `cedar/` policies, the machine's Redis under a random
 * prefix), and the registry runs as a third process. alice delegates to the orchestrator, the
 * orchestrator to the researcher with a narrower scope; the researcher is allowed inside it and
 * denied outside it on both replicas; a grant wider than the parent's is refused when it is made;
 * the orchestrator's grant is revoked and the researcher is denied on both replicas within a
 * second of the revocation being answered. Finally the same chain is built with nothing but the
 * admin token on a replica's own API (what `argus serve` without an IdP offers).
 *
 * Why a governance API inside the test process: the replicas' configuration has no agent-token
 * table yet, so an agent cannot authenticate to their governance routes; the router, the stores
 * and the credentials checked here are the production ones.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernanceRouter } from '@argus/apdp';
import type { IntentCatalogue } from '@argus/governance';
import { createAuthenticator, errorHandler, jsonBody, notFoundHandler, silentLogger } from '@argus/platform';
import { MemoryBudgetCounter, openEventBus, openStorage, type EventBus, type Storage } from '@argus/store';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { admin, ADMIN_TOKEN, startApdpReplica, startRegistryProcess } from './support/argus-fixture.ts';
import { REPO_ROOT, type AppProcess } from './support/processes.ts';

const TARGET_MS = 1_000;
const dir = mkdtempSync(join(tmpdir(), 'argus-delegation-e2e-'));
const prefix = testPrefix();
const storeUrl = `sqlite:${join(dir, 'shared.db')}`;
const AGENT_TOKENS = { orchestrator: 'argus_e2e_orchestrator_token_7a6b5c4d', researcher: 'argus_e2e_researcher_token_1f2e3d4c' };
const started: AppProcess[] = [];
let replicas: AppProcess[] = [];
let storage: Storage;
let events: EventBus;
let governance: Server;
let governanceUrl: string;
let aliceJwt: string;
let idpKey: CryptoKey;

const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
const H = (id: string) => ({ type: 'Human', id });
const A = (id: string) => ({ type: 'Agent', id });

/** `tool:call` of `tool` by `agent` under the chain `chain` (agents after `Human::"alice"`). */
function toolCall(agent: string, tool: string, chain: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    principal: A(agent),
    action: 'tool:call',
    resource: { type: 'Tool', id: tool, attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
    intent: 'lookup-order-status',
    delegation: [H('alice'), ...chain.map(A)],
    ...extra,
  };
}

/** The fields of the answers this test reads (a grant, a goal, a revocation, an error). */
type Answer = Record<string, unknown> & { id: string; owner: string; revoked: string[]; errors: Array<{ path: string; message: string }> };

/** A JSON call to `url` with the bearer `token`; answers the status and the parsed body. */
async function call(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; body: Answer }> {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Answer };
}

/**
 * `POST /v1/authorize` on a replica, as an authenticated caller (the admin token: the decision
 * API may require a credential, and the replicas' configuration names no service token).
 */
async function decide(url: string, input: Record<string, unknown>): Promise<{ allow: boolean; codes: string[] }> {
  const res = await fetch(`${url}/v1/authorize`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  if (res.status !== 200) throw new Error(`authorize on ${url} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { result: { allow: boolean; codes?: string[] } };
  return { allow: body.result.allow, codes: body.result.codes ?? [] };
}

/** Polls every replica until `seen` holds on it; answers each replica's delay after `t0` (ms). */
async function everyReplica(seen: (url: string) => Promise<boolean>, t0: number, timeoutMs = 10_000): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    replicas.map(async (r) => {
      for (;;) {
        if (await seen(r.url)) {
          out[r.name] = Math.round((performance.now() - t0) * 10) / 10;
          return;
        }
        if (performance.now() - t0 > timeoutMs) throw new Error(`${r.name} did not show the change within ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 5));
      }
    }),
  );
  return out;
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  idpKey = pair.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'idp-1' }] };
  aliceJwt = await new SignJWT({ kind: 'human', roles: ['support'] }).setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setSubject('alice').setIssuer('https://idp.example').setAudience('argus').setIssuedAt().setExpirationTime('10m').sign(idpKey);

  // The registry creates the SQLite schema first; the replicas and the governance API open the same file.
  const registry = await startRegistryProcess({ storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix });
  started.push(registry);
  replicas = await Promise.all(['apdp-1', 'apdp-2'].map((name) => startApdpReplica({ name, dir, storeUrl, redisUrl: SHARED_REDIS_URL, redisPrefix: prefix })));
  started.push(...replicas);

  storage = await openStorage(storeUrl);
  events = openEventBus({ redisUrl: SHARED_REDIS_URL, prefix });
  const intents = JSON.parse(readFileSync(join(REPO_ROOT, 'cedar/intents.json'), 'utf8')) as IntentCatalogue;
  const app = express();
  app.use(jsonBody({ maxBodyBytes: 65_536, maxJsonDepth: 32 }));
  app.use(
    createGovernanceRouter({
      delegations: storage.delegations,
      goals: storage.goals,
      budget: new MemoryBudgetCounter(),
      intents,
      auth: createAuthenticator({ adminToken: ADMIN_TOKEN, agentTokens: AGENT_TOKENS, jwks: { keys: jwks as never, issuer: 'https://idp.example', audience: 'argus' } }),
      events,
      clock: () => new Date(),
      maxDelegationDepth: 4,
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(silentLogger()));
  governance = createServer(app);
  await new Promise<void>((r) => governance.listen(0, '127.0.0.1', r));
  governanceUrl = `http://127.0.0.1:${(governance.address() as AddressInfo).port}`;

  // The people and agents, registered over HTTP with the admin token.
  await admin('POST', `${registry.url}/v1/registry/humans`, { id: 'alice', email: 'alice@example.com', roles: ['support'] }, 201);
  for (const id of ['orchestrator', 'researcher']) await admin('POST', `${registry.url}/v1/registry/agents`, { id, name: id, owner: 'alice', trust: 'trusted' }, 201);
}, 180_000);

afterAll(async () => {
  await new Promise<void>((r) => (governance ? governance.close(() => r()) : r()));
  await events?.close();
  await storage?.close();
  await Promise.all(started.map((p) => p.stop(5_000)));
  await deleteKeys(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

const grants: Record<string, string> = {};

describe('human → orchestrator → researcher over HTTP, decided on two replicas', () => {
  it('alice (JWT) grants the orchestrator; the orchestrator (its own token) grants the researcher a narrower scope', async () => {
    const g1 = await call('POST', `${governanceUrl}/v1/delegations`, aliceJwt, { to: A('orchestrator'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] }, expiresAt: inHours(2), maxDepth: 2 });
    expect(g1.status, JSON.stringify(g1.body)).toBe(201);
    expect(g1.body).toMatchObject({ from: H('alice'), to: A('orchestrator'), createdBy: 'alice' });
    const g2 = await call('POST', `${governanceUrl}/v1/delegations`, AGENT_TOKENS.orchestrator, { to: A('researcher'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(1) });
    expect(g2.status, JSON.stringify(g2.body)).toBe(201);
    expect(g2.body).toMatchObject({ from: A('orchestrator'), to: A('researcher'), parentId: g1.body.id, createdBy: 'orchestrator' });
    grants.alice = g1.body.id as string;
    grants.orchestrator = g2.body.id as string;
  });

  it('refuses, when it is made, a grant wider or longer than the parent, one made in another agent\'s name, and one without a credential', async () => {
    const wide = await call('POST', `${governanceUrl}/v1/delegations`, AGENT_TOKENS.orchestrator, { to: A('researcher'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"', 'Tool::"mail.send"'] }, expiresAt: inHours(1) });
    expect(wide.status).toBe(403);
    expect(wide.body.errors[0]).toMatchObject({ path: '/scope' });
    expect(wide.body.errors[0]?.message).toMatch(/^delegation_scope_widened: .*Tool::"mail\.send"/);
    const late = await call('POST', `${governanceUrl}/v1/delegations`, AGENT_TOKENS.orchestrator, { to: A('researcher'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(3) });
    expect(late.body.errors[0]?.message).toMatch(/^delegation_outlives_parent/);
    const spoof = await call('POST', `${governanceUrl}/v1/delegations`, AGENT_TOKENS.researcher, { from: A('orchestrator'), to: A('helper'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(1) });
    expect(spoof.status).toBe(403);
    // The orchestrator's grant allows one hop below it and no more: the researcher cannot re-delegate.
    const deeper = await call('POST', `${governanceUrl}/v1/delegations`, AGENT_TOKENS.researcher, { to: A('helper'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(0.5) });
    expect(deeper.status).toBe(403);
    expect(deeper.body.errors[0]?.message).toMatch(/^delegation_depth_exceeded/);
    const anonymous = await fetch(`${governanceUrl}/v1/delegations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect((await storage.delegations.list({ to: A('researcher') })).items).toHaveLength(1);
  });

  it('the researcher is allowed inside its scope and denied outside it (inside the orchestrator\'s), on both replicas', async () => {
    // The replicas learn the registry's agents through the bus: wait until both allow.
    await everyReplica(async (url) => (await decide(url, toolCall('researcher', 'crm.search', ['orchestrator', 'researcher']))).allow, performance.now());
    for (const r of replicas) {
      const outside = await decide(r.url, toolCall('researcher', 'crm.update', ['orchestrator', 'researcher']));
      expect(outside, r.name).toMatchObject({ allow: false, codes: ['delegation_out_of_scope'] });
      // The same action is allowed one hop up, so the deny is the attenuation, not the policies.
      expect((await decide(r.url, toolCall('orchestrator', 'crm.update', ['orchestrator']))).allow, r.name).toBe(true);
      // Skipping the orchestrator is no chain at all.
      expect((await decide(r.url, toolCall('researcher', 'crm.search', ['researcher']))).codes, r.name).toContain('delegation_unknown_hop');
    }
  });

  it('revoking the orchestrator\'s grant denies the researcher on both replicas within a second', async () => {
    const t0 = performance.now();
    const revoked = await call('POST', `${governanceUrl}/v1/delegations/${grants.orchestrator}/revoke`, aliceJwt, { reason: 'ticket closed' });
    const answeredMs = performance.now() - t0;
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toEqual([grants.orchestrator]);
    const t1 = performance.now();
    const delays = await everyReplica(async (url) => {
      const v = await decide(url, toolCall('researcher', 'crm.search', ['orchestrator', 'researcher']));
      return !v.allow && v.codes.includes('delegation_revoked');
    }, t1);
    process.stdout.write(`\nrevocation answered in ${answeredMs.toFixed(1)} ms; first deny after the answer: ${JSON.stringify(delays)} (target < ${TARGET_MS} ms)\n`);
    for (const [name, ms] of Object.entries(delays)) expect(ms, name).toBeLessThan(TARGET_MS);
    // The orchestrator's own grant is untouched.
    for (const r of replicas) expect((await decide(r.url, toolCall('orchestrator', 'crm.search', ['orchestrator']))).allow, r.name).toBe(true);
  });

  it('with nothing but the admin token, on a replica\'s own API: a goal and the whole chain on behalf of alice; an admin revocation cascades', async () => {
    const api = replicas[0]!.url;
    const goal = await call('POST', `${api}/v1/goals`, ADMIN_TOKEN, { onBehalfOf: 'alice', objective: 'answer ticket 42', intents: ['lookup-order-status'], agents: ['orchestrator', 'researcher'], expiresAt: inHours(2) });
    expect(goal.status, JSON.stringify(goal.body)).toBe(201);
    expect(goal.body.owner).toBe('alice');
    const root = await call('POST', `${api}/v1/delegations`, ADMIN_TOKEN, { onBehalfOf: 'alice', to: A('orchestrator'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] }, expiresAt: inHours(2) });
    expect(root.status, JSON.stringify(root.body)).toBe(201);
    const wide = await call('POST', `${api}/v1/delegations`, ADMIN_TOKEN, { from: A('orchestrator'), to: A('researcher'), scope: { actions: ['tool:*'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(1) });
    expect(wide.body.errors?.[0]?.message).toMatch(/^delegation_scope_widened/);
    const hop = await call('POST', `${api}/v1/delegations`, ADMIN_TOKEN, { from: A('orchestrator'), parent: root.body.id, to: A('researcher'), scope: { actions: ['tool:call'], resources: ['Tool::"crm.search"'] }, expiresAt: inHours(1) });
    expect(hop.status, JSON.stringify(hop.body)).toBe(201);
    expect(hop.body).toMatchObject({ parentId: root.body.id, createdBy: 'admin' });
    const underGoal = toolCall('researcher', 'crm.search', ['orchestrator', 'researcher'], { goal: goal.body.id });
    for (const r of replicas) expect((await decide(r.url, underGoal)).allow, r.name).toBe(true);

    const t0 = performance.now();
    const revoked = await call('POST', `${replicas[1]!.url}/v1/delegations/${root.body.id}/revoke`, ADMIN_TOKEN, {});
    expect(revoked.body.revoked.sort()).toEqual([root.body.id, hop.body.id].sort());
    const delays = await everyReplica(async (url) => !(await decide(url, underGoal)).allow, t0);
    for (const [name, ms] of Object.entries(delays)) expect(ms, name).toBeLessThan(TARGET_MS);
  });
});
