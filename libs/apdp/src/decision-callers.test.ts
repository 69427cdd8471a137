/**
 * Who may ask for a decision and what an anonymous one may cause, through HTTP on the server
 * `apdp` main starts: `auth.decisions: open` answers anonymous callers with the same decision and
 * its side effects skipped; authenticated callers are recorded as kind + subject; an agent asks
 * only about itself; approvals are answered by approvers, admins or the human at the chain's root.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matrixAuthConfig, MATRIX_IDS, MATRIX_TOKENS, startMatrixIdp, type MatrixIdp } from '@argus/platform/testing';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'argus-callers-'));
const TOOL = 'action == Argus::Action::"tool:call", resource is Argus::Tool';
const EXTRA = [
  `@id("q-export") @effect("quarantine") forbid (principal, ${TOOL}) when { resource == Argus::Tool::"crm.export" };`,
  `@id("gated-delete") @effect("require_approval") permit (principal, ${TOOL}) when { resource == Argus::Tool::"crm.delete" };`,
].join('\n');

let idp: MatrixIdp;
let running: RunningApdp;
const SERVICE = { authorization: `Bearer ${MATRIX_TOKENS.service}`, 'content-type': 'application/json' };
const ADMIN = { authorization: `Bearer ${MATRIX_TOKENS.admin}`, 'content-type': 'application/json' };
const ANON = { 'content-type': 'application/json' };

const ask = (tool: string, principal = 'support-bot') => ({
  input: {
    principal: { type: 'Agent', id: principal },
    action: 'tool:call',
    resource: { type: 'Tool', id: tool, attributes: { sensitivity: 'internal' } },
    intent: 'lookup-order-status',
  },
});

async function decide(
  headers: Record<string, string>,
  body: unknown,
): Promise<{ status: number; body: { decision_id: string; result: Record<string, unknown> } & Record<string, unknown> }> {
  const res = await fetch(`${running.url}/v1/authorize`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as never };
}

async function trustOf(id: string): Promise<string | undefined> {
  return (await running.runtime.storage.registry.getAgent(id))?.trust;
}

beforeAll(async () => {
  idp = await startMatrixIdp();
  const policies = join(dir, 'cedar');
  cpSync(join(ROOT, 'cedar'), policies, { recursive: true });
  writeFileSync(join(policies, 'policies', 'zz-callers-test.cedar'), EXTRA);
  const file = join(dir, 'argus.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
      policy: { dir: policies, watch: false, decisionMemo: 0 },
      governance: { intentsFile: join(policies, 'intents.json') },
      auth: matrixAuthConfig(idp, 'open'),
      store: { url: `sqlite:${join(dir, 'argus.db')}` },
      audit: { sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }], spill: { dir: join(dir, 'spill') } },
      logging: { level: 'silent' },
    }),
  );
  running = await startApdp(loadApdpConfig(file, {}));
  const registry = running.runtime.storage.registry;
  await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: [] });
  for (const id of ['support-bot', 'other-bot']) {
    await registry.createAgent({ id, name: id, owner: 'alice', kind: 'assistant', trust: 'trusted' }, 'test');
    await running.runtime.leases.renew('agent', id, 3_600_000);
  }
});
afterAll(async () => {
  await running.shutdown.run();
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('auth.decisions: open', () => {
  it('answers an anonymous caller with the same decision and skips its quarantine', async () => {
    const anonymous = await decide(ANON, ask('crm.export'));
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.result).toMatchObject({ allow: false, decision: 'deny' });
    expect(anonymous.body.result.effects).toEqual([
      { policy: 'q-export', effect: 'quarantine', status: 'skipped' },
      { policy: 'q-export', effect: 'quota', status: 'skipped' },
    ]);
    expect(await trustOf('support-bot')).toBe('trusted');
    // A bad credential is never downgraded to anonymous.
    expect((await decide({ ...ANON, authorization: 'Bearer not-a-token-0000000000' }, ask('crm.export'))).status).toBe(401);
  });

  it('refuses two Authorization headers (one identity per caller), on the decision routes and the others', async () => {
    // Node keeps the first of several Authorization headers: taking it would settle two identities by order.
    const twice = (method: string, path: string, body?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${running.url}${path}`, { method }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.setHeader('authorization', [`Bearer ${MATRIX_TOKENS.admin}`, `Bearer ${MATRIX_TOKENS.agent}`]);
        req.setHeader('content-type', 'application/json');
        req.on('error', reject);
        req.end(body);
      });
    expect(await twice('POST', '/v1/authorize', JSON.stringify(ask('crm.search')))).toBe(401);
    expect(await twice('POST', '/v1/data/argus/allow', JSON.stringify(ask('crm.search')))).toBe(401);
    expect(await twice('GET', '/v1/decisions')).toBe(401);
    expect(await twice('GET', '/v1/registry/agents')).toBe(401);
    // One of them alone is admitted.
    expect((await fetch(`${running.url}/v1/decisions`, { headers: ADMIN })).status).toBe(200);
  });

  it('holds an anonymous approval-gated request without opening an approval request', async () => {
    const held = await decide(ANON, ask('crm.delete'));
    expect(held.body.result).toMatchObject({ allow: false, decision: 'needs_approval' });
    expect(held.body.result.effects).toEqual([
      { policy: 'gated-delete', effect: 'require_approval', status: 'skipped' },
      { policy: 'gated-delete', effect: 'quota', status: 'skipped' },
    ]);
    expect(held.body.result.approval).toBeUndefined();
    // The summary names no request a human could look for.
    expect(held.body.result.summary).toBe('held for approval: no request is opened for an anonymous caller');
    const list = await fetch(`${running.url}/v1/approvals`, { headers: ADMIN });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('carries out the side effects of an authenticated caller and records every caller in the audit trail', async () => {
    const served = await decide(SERVICE, ask('crm.export', 'other-bot'));
    expect(served.body.result).toMatchObject({
      decision: 'deny',
      effects: [{ policy: 'q-export', effect: 'quarantine', status: 'applied' }],
    });
    expect(await trustOf('other-bot')).toBe('quarantined');
    const anonymous = await decide(ANON, ask('crm.search'));
    const callers = async () => {
      const res = await fetch(`${running.url}/v1/decisions?limit=100`, { headers: ADMIN });
      const records = ((await res.json()) as { decisions: Array<{ decision_id?: string; decisionId?: string; caller: unknown }> })
        .decisions;
      return new Map(records.map((r) => [r.decisionId ?? r.decision_id, r.caller]));
    };
    await expect
      .poll(async () => (await callers()).get(served.body.decision_id), { timeout: 5_000 })
      .toEqual({ kind: 'service', subject: MATRIX_IDS.service });
    await expect.poll(async () => (await callers()).get(anonymous.body.decision_id), { timeout: 5_000 }).toEqual({ kind: 'anonymous' });
  });

  it('lets an agent ask only about itself', async () => {
    const agent = { authorization: `Bearer ${MATRIX_TOKENS.agent}`, 'content-type': 'application/json' };
    expect((await decide(agent, ask('crm.search'))).status).toBe(200);
    const other = await decide(agent, ask('crm.export', 'other-bot'));
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'forbidden', errors: [{ path: '/input/principal' }] });
  });
});

describe('approvals', () => {
  it('are answered by the human at the root of the chain, an approver or an admin — not by any other human', async () => {
    const held = await decide(SERVICE, ask('crm.delete'));
    expect(held.body.result).toMatchObject({ decision: 'needs_approval', approval: { status: 'pending' } });
    const id = (held.body.result.approval as { id: string }).id;
    const as = async (sub: string, roles: string[] = []) => ({
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles }, { sub })}`,
      'content-type': 'application/json',
    });
    const bob = await as('bob');
    expect((await fetch(`${running.url}/v1/approvals/${id}`, { headers: bob })).status).toBe(404);
    expect(((await (await fetch(`${running.url}/v1/approvals`, { headers: bob })).json()) as { items: unknown[] }).items).toEqual([]);
    const bobAnswers = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: bob,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(bobAnswers.status).toBe(403);
    const alice = await as('alice');
    expect((await fetch(`${running.url}/v1/approvals/${id}`, { headers: alice })).status).toBe(200);
    const approverSees = await fetch(`${running.url}/v1/approvals/${id}`, { headers: await as('carol', ['approver']) });
    expect(approverSees.status).toBe(200);
    const answered = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: alice,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ status: 'approved', decidedBy: 'alice' });
  });

  it('are never answered by the caller that asked for the held decision: an admin holding a request cannot approve it', async () => {
    const held = await decide(ADMIN, ask('crm.delete'));
    expect(held.body.result).toMatchObject({ decision: 'needs_approval', approval: { status: 'pending' } });
    const id = (held.body.result.approval as { id: string }).id;
    const stored = (await (await fetch(`${running.url}/v1/approvals/${id}`, { headers: ADMIN })).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ status: 'pending', requestedBy: { kind: 'admin', subject: 'admin' } });
    const own = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(own.status).toBe(403);
    expect(await own.json()).toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('cannot answer its own approval request'),
    });
    const approver = {
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles: ['approver'] }, { sub: 'carol' })}`,
      'content-type': 'application/json',
    };
    const answered = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: approver,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ status: 'approved', decidedBy: 'carol' });
  });

  it('rooted in a delegation chain are answered by the root human of the chain, not by the owner of the agent', async () => {
    await running.runtime.storage.registry.createHuman({ id: 'dave', email: 'dave@example.com', roles: [] });
    const grant = await fetch(`${running.url}/v1/delegations`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({
        onBehalfOf: 'dave',
        to: { type: 'Agent', id: 'support-bot' },
        scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] },
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(grant.status).toBe(201);
    const body = ask('crm.delete');
    const chain = [
      { type: 'Human', id: 'dave' },
      { type: 'Agent', id: 'support-bot' },
    ];
    const held = await decide(SERVICE, { input: { ...body.input, delegation: chain } });
    expect(held.body.result).toMatchObject({ decision: 'needs_approval', approval: { status: 'pending' } });
    const id = (held.body.result.approval as { id: string }).id;
    const as = async (sub: string) => ({
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles: [] }, { sub })}`,
      'content-type': 'application/json',
    });
    // alice owns the agent, but dave granted the authority the request was held under.
    const alice = await as('alice');
    expect((await fetch(`${running.url}/v1/approvals/${id}`, { headers: alice })).status).toBe(404);
    const aliceAnswers = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: alice,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(aliceAnswers.status).toBe(403);
    const dave = await as('dave');
    const seen = await fetch(`${running.url}/v1/approvals/${id}`, { headers: dave });
    expect(seen.status).toBe(200);
    expect(await seen.json()).toMatchObject({ root: 'dave' });
    const answered = await fetch(`${running.url}/v1/approvals/${id}`, {
      method: 'POST',
      headers: dave,
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ status: 'approved', decidedBy: 'dave' });
  });
});

describe('policy publication', () => {
  it('is recorded as by the authenticated policy author, and refused to a human without the role', async () => {
    const source = (await (await fetch(`${running.url}/v1/policies/source`, { headers: ADMIN })).json()) as {
      policies: Array<{ file: string; text: string }>;
    };
    const body = JSON.stringify({
      policies: [
        ...source.policies,
        {
          file: 'policies/zz-published.cedar',
          text: `@id("published-by-dana")\nforbid (principal, ${TOOL}) when { resource == Argus::Tool::"never.used" };`,
        },
      ],
      message: 'by dana',
    });
    const human = async (roles: string[]) => ({
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles }, { sub: 'dana' })}`,
      'content-type': 'application/json',
    });
    expect((await fetch(`${running.url}/v1/policies`, { method: 'PUT', headers: await human([]), body })).status).toBe(403);
    const published = await fetch(`${running.url}/v1/policies`, { method: 'PUT', headers: await human(['policy-author']), body });
    expect(published.status).toBe(200);
    const { version } = (await published.json()) as { version: string };
    expect(await running.runtime.storage.policies.getVersion(version)).toMatchObject({ author: 'dana', message: 'by dana' });
  });
});
