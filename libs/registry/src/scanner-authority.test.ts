/**
 * A scanner reports what discovery observes; it never changes what grants authority. Checked
 * through the registry routes and the decision pipeline reading the same store with the starter
 * policies: an agent's owner, kind, capabilities and labels (clearance) and a tool's governance
 * attributes (sensitivity, intents) stay what an admin set, and so does the decision.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DecideOptions } from '@argus/contracts';
import { DecisionService, type RegistryReader } from '@argus/decision';
import { compilePolicySet } from '@argus/engine';
import { createAuthenticator, createMetricsRegistry, silentLogger } from '@argus/platform';
import { MemoryEventBus, MemoryLeaseStore, openSqlite, type SqliteStores } from '@argus/store';
import { createRegistryApp } from './app.ts';

const ADMIN = 'Bearer admin-token-0123456789abcdef';
const SCANNER = 'Bearer scanner-token-0123456789abcd';
const PROXY = 'Bearer proxy-token-0123456789abcdefg';
const CEDAR = join(import.meta.dirname, '../../../cedar');
const INTENT = 'lookup-order-status';

let s: SqliteStores;
let leases: MemoryLeaseStore;
let events: MemoryEventBus;
let app: ReturnType<typeof createRegistryApp>;
let decisions: DecisionService;

/** The starter schema and policies (`cedar/`). */
function starterSet() {
  const policies = readdirSync(join(CEDAR, 'policies'))
    .filter((f) => f.endsWith('.cedar'))
    .map((file) => ({ file, text: readFileSync(join(CEDAR, 'policies', file), 'utf8') }));
  const compiled = compilePolicySet({ schema: readFileSync(join(CEDAR, 'schema.cedarschema'), 'utf8'), policies });
  if (!compiled.ok) throw new Error('starter policies do not compile');
  return compiled.policySet;
}

beforeEach(async () => {
  s = openSqlite(':memory:');
  leases = new MemoryLeaseStore();
  events = new MemoryEventBus();
  app = createRegistryApp({
    store: s.registry,
    leases,
    events,
    logger: silentLogger(),
    auth: createAuthenticator({
      adminToken: ADMIN.slice(7),
      scannerTokens: { scan: SCANNER.slice(7) },
      serviceTokens: { proxy: PROXY.slice(7) },
    }),
  });
  const registry: RegistryReader = {
    getAgent: (id) => s.registry.getAgent(id),
    getHuman: (id) => s.registry.getHuman(id),
    getMcpServer: (id) => s.registry.getMcpServer(id),
    leaseState: async (kind, id) => ((await leases.get(kind, id)).state === 'alive' ? 'alive' : 'expired'),
  };
  decisions = new DecisionService({
    policies: { current: { set: starterSet() } },
    registry,
    metrics: createMetricsRegistry(),
    logger: silentLogger(),
    decisionTimeoutMs: 2000,
  });
  const admin = (path: string, body: object) => request(app).post(path).set('authorization', ADMIN).send(body).expect(201);
  await admin('/v1/registry/humans', { id: 'alice', email: 'alice@example.com' });
  await admin('/v1/registry/humans', { id: 'mallory', email: 'mallory@example.com' });
  await admin('/v1/registry/agents', {
    id: 'bot-c',
    name: 'bot-c',
    owner: 'alice',
    kind: 'agent',
    trust: 'trusted',
    capabilities: ['crm.read'],
    labels: { team: 'sales' },
  });
  await admin('/v1/registry/mcp-servers', {
    id: 'vault',
    name: 'vault',
    url: 'http://vault.internal/mcp',
    trust: 'trusted',
    tools: [
      {
        name: 'vault_read',
        description: 'reads a secret',
        inputSchema: { type: 'object' },
        sensitivity: 'secret',
        allowedIntents: [INTENT],
      },
    ],
  });
});
afterEach(async () => {
  await leases.close();
  await events.close();
  s.db.close();
});

/** The decision on `bot-c` calling `Tool::"vault/vault_read"` for the intent. */
async function decide(): Promise<string> {
  const response = await decisions.decide(
    { principal: { type: 'Agent', id: 'bot-c' }, action: 'tool:call', resource: { type: 'Tool', id: 'vault/vault_read' }, intent: INTENT },
    { caller: { kind: 'token', id: 'pep' } } as DecideOptions,
  );
  return response.result.decision;
}

const scan = (path: string, body: object, auth = SCANNER) => request(app).put(path).set('authorization', auth).send(body);

describe("a scanner's agent report", () => {
  it("never changes an existing agent's owner, kind, capabilities or labels: ignored, named in x-argus-ignored, the record's kept", async () => {
    const before = (await request(app).get('/v1/registry/agents/bot-c').set('authorization', ADMIN)).body;
    expect(await decide()).toBe('deny');
    const raise = await scan('/v1/registry/agents/bot-c', { name: 'bot-c', labels: { clearance: 'high' }, capabilities: ['anything'] });
    expect(raise.status).toBe(200);
    expect(raise.headers['x-argus-ignored']).toBe('/capabilities,/labels');
    expect(raise.body).toMatchObject({ labels: before.labels, capabilities: before.capabilities });
    for (const [field, value] of [
      ['kind', 'mcp-server'],
      ['owner', 'mallory'],
      ['capabilities', []],
      ['labels', { team: 'sales', clearance: 'high' }],
    ] as const) {
      const res = await scan('/v1/registry/agents/bot-c', { name: 'bot-c', [field]: value });
      expect(res.status, field).toBe(200);
      expect(res.headers['x-argus-ignored'], field).toBe(`/${field}`);
      expect(res.body[field], field).toEqual(before[field]);
    }
    const after = (await request(app).get('/v1/registry/agents/bot-c').set('authorization', ADMIN)).body;
    for (const field of ['owner', 'kind', 'capabilities', 'labels', 'trust']) expect(after[field], field).toEqual(before[field]);
    expect(await decide()).toBe('deny');
  });

  it('creates a new agent without the owner and the labels a decision reads as authority (clearance, tenant)', async () => {
    const created = await scan('/v1/registry/agents/newbot', {
      name: 'newbot',
      owner: 'alice',
      labels: { clearance: 'high', tenant: 'acme', 'app.kubernetes.io/name': 'newbot' },
      capabilities: ['x'],
    });
    expect(created.status).toBe(201);
    expect(created.headers['x-argus-ignored']).toBe('/owner,/labels/clearance,/labels/tenant');
    expect(created.body.owner).toBeUndefined();
    expect(created.body.labels).toEqual({ 'app.kubernetes.io/name': 'newbot' });
    // An admin creating through the same route sets them.
    const byAdmin = await scan('/v1/registry/agents/adminbot', { name: 'adminbot', owner: 'alice', labels: { clearance: 'high' } }, ADMIN);
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body).toMatchObject({ owner: 'alice', labels: { clearance: 'high' } });
  });

  it('succeeds when it repeats the values the record holds (any capability order), refreshing what discovery observes', async () => {
    const same = await scan('/v1/registry/agents/bot-c', {
      name: 'bot-c',
      url: 'http://bot-c.internal:8080',
      owner: 'alice',
      kind: 'agent',
      capabilities: ['crm.read'],
      labels: { team: 'sales' },
    });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({
      url: 'http://bot-c.internal:8080',
      capabilities: ['crm.read'],
      labels: { team: 'sales' },
      version: 2,
    });
    expect(same.body.lastSeen).toBeDefined();
    // A record the scanner creates takes what it reports; its later reports of the same values pass.
    const created = await scan('/v1/registry/agents/found', {
      name: 'found',
      kind: 'assistant',
      labels: { app: 'x' },
      capabilities: ['a', 'b'],
    });
    expect(created.status).toBe(201);
    expect(
      (await scan('/v1/registry/agents/found', { name: 'found', kind: 'assistant', labels: { app: 'x' }, capabilities: ['b', 'a'] }))
        .status,
    ).toBe(200);
    // An admin's PATCH still changes them.
    const patched = await request(app)
      .patch('/v1/registry/agents/bot-c')
      .set('authorization', ADMIN)
      .send({ labels: { clearance: 'high' } });
    expect(patched.status).toBe(200);
    expect(await decide()).toBe('allow');
  });
});

describe("a scanner's or the proxy's tool list", () => {
  const vaultRead = { name: 'vault_read', description: 'reads a secret', inputSchema: { type: 'object' } };
  const downgraded = { ...vaultRead, sensitivity: 'public', allowedIntents: [INTENT, 'exfiltrate'], category: 'misc', labels: { a: 'b' } };
  const toolOf = async (server: string, name: string) =>
    ((await request(app).get(`/v1/registry/mcp-servers/${server}`).set('authorization', ADMIN)).body.tools as Array<{ name: string }>).find(
      (t) => t.name === name,
    );

  it("never overwrites a tool's governance attributes: the tool stays secret, the server trusted, the decision deny", async () => {
    expect(await decide()).toBe('deny');
    const report = await scan('/v1/registry/mcp-servers/vault', { name: 'vault', url: 'http://vault.internal/mcp', tools: [downgraded] });
    expect(report.status).toBe(200);
    expect(report.body.trust).toBe('trusted');
    expect(report.body.toolsChanged).toBeUndefined();
    expect(await toolOf('vault', 'vault_read')).toEqual({
      ...vaultRead,
      hash: expect.any(String),
      sensitivity: 'secret',
      allowedIntents: [INTENT],
    });
    expect(await decide()).toBe('deny');

    const live = await request(app)
      .post('/v1/registry/mcp-servers/vault/live-tools')
      .set('authorization', PROXY)
      .send({ tools: [downgraded], complete: true });
    expect(live.status).toBe(200);
    expect(live.body.trust).toBe('trusted');
    expect(await toolOf('vault', 'vault_read')).toMatchObject({ sensitivity: 'secret', allowedIntents: [INTENT] });
    expect(await toolOf('vault', 'vault_read')).not.toHaveProperty('category');
    expect(await decide()).toBe('deny');
  });

  it('gives a tool it adds, or a server it creates, no governance attributes: an admin sets them', async () => {
    const added = { ...downgraded, name: 'vault_write' };
    const report = await scan('/v1/registry/mcp-servers/vault', {
      name: 'vault',
      url: 'http://vault.internal/mcp',
      tools: [vaultRead, added],
    });
    expect(report.body).toMatchObject({ trust: 'pending', toolsChanged: { added: ['vault_write'] } });
    expect(Object.keys((await toolOf('vault', 'vault_write'))!).sort()).toEqual(['description', 'hash', 'inputSchema', 'name']);
    expect(await toolOf('vault', 'vault_read')).toMatchObject({ sensitivity: 'secret' });
    const created = await scan('/v1/registry/mcp-servers/fresh', { name: 'fresh', url: 'http://fresh.internal/mcp', tools: [downgraded] });
    expect(created.status).toBe(201);
    expect(Object.keys((await toolOf('fresh', 'vault_read'))!).sort()).toEqual(['description', 'hash', 'inputSchema', 'name']);
  });
});
