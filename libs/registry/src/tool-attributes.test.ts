/**
 * `PATCH /v1/registry/mcp-servers/{id}/tools/{tool}`: admins set what discovery cannot know (a
 * tool's sensitivity, intents, category, labels) without touching its hash or the server's trust.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, silentLogger } from '@argus/platform';
import { MemoryEventBus, MemoryLeaseStore, openSqlite, type SqliteStores } from '@argus/store';
import { createRegistryApp } from './app.ts';

const ADMIN = 'Bearer admin-token-0123456789abcdef';
const SCANNER = 'Bearer scanner-token-0123456789abcd';
const BOT = 'Bearer bot-token-0123456789abcdefgh';
const tool = (name: string) => ({ name, description: `does ${name}`, inputSchema: { type: 'object' } });
const PATH = '/v1/registry/mcp-servers/crm/tools/crm.export';

let s: SqliteStores;
let events: MemoryEventBus;
let leases: MemoryLeaseStore;
let app: ReturnType<typeof createRegistryApp>;

beforeEach(async () => {
  s = openSqlite(':memory:');
  events = new MemoryEventBus();
  leases = new MemoryLeaseStore();
  const auth = createAuthenticator({
    adminToken: ADMIN.slice(7),
    scannerTokens: { scan: SCANNER.slice(7) },
    agentTokens: { bot: BOT.slice(7) },
  });
  app = createRegistryApp({ store: s.registry, leases, events, logger: silentLogger(), auth });
  await request(app)
    .post('/v1/registry/mcp-servers')
    .set('authorization', ADMIN)
    .send({ id: 'crm', name: 'CRM', url: 'http://crm.internal/mcp', trust: 'trusted', tools: [tool('crm.export'), tool('crm.read')] })
    .expect(201);
});
afterEach(async () => {
  await leases.close();
  await events.close();
  s.db.close();
});

const patch = (body: unknown, auth = ADMIN, path = PATH) =>
  request(app)
    .patch(path)
    .set('authorization', auth)
    .send(body as object);

describe('tool governance attributes', () => {
  it("sets, keeps and clears attributes; the hash and the server's trust do not move", async () => {
    const before = (await request(app).get('/v1/registry/mcp-servers/crm').set('authorization', ADMIN)).body;
    const res = await patch({ sensitivity: 'secret', allowedIntents: ['export-report'], category: 'exports', labels: { owner: 'sales' } });
    expect(res.status).toBe(200);
    const exported = res.body.tools.find((t: { name: string }) => t.name === 'crm.export');
    expect(exported).toMatchObject({
      sensitivity: 'secret',
      allowedIntents: ['export-report'],
      category: 'exports',
      labels: { owner: 'sales' },
    });
    expect(exported.hash).toBe(before.tools.find((t: { name: string }) => t.name === 'crm.export').hash);
    expect(res.body.toolsHash).toBe(before.toolsHash);
    expect(res.body.trust).toBe('trusted');
    expect(res.body.tools.find((t: { name: string }) => t.name === 'crm.read')).not.toHaveProperty('sensitivity');

    const cleared = await patch({ category: null, sensitivity: 'high' });
    const after = cleared.body.tools.find((t: { name: string }) => t.name === 'crm.export');
    expect(after).toMatchObject({ sensitivity: 'high', allowedIntents: ['export-report'] });
    expect(after).not.toHaveProperty('category');
  });

  it('refuses bad input with a 4xx naming the path, and stale versions with 412', async () => {
    const bad = await patch({ sensitivity: 'extreme' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/sensitivity');
    expect((await patch({ colour: 'red' })).status).toBe(400);
    expect((await patch({})).status).toBe(400);
    const missing = await patch({ sensitivity: 'high' }, ADMIN, '/v1/registry/mcp-servers/crm/tools/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].path).toBe('/params/tool');
    expect((await patch({ sensitivity: 'high' }, ADMIN, '/v1/registry/mcp-servers/ghost/tools/crm.export')).status).toBe(404);
    const stale = await request(app).patch(PATH).set('authorization', ADMIN).set('if-match', '"99"').send({ sensitivity: 'high' });
    expect(stale.status).toBe(412);
  });

  it('is for admins only', async () => {
    expect((await patch({ sensitivity: 'public' }, BOT)).status).toBe(403);
    expect((await patch({ sensitivity: 'public' }, SCANNER)).status).toBe(403);
    expect((await request(app).patch(PATH).send({ sensitivity: 'public' })).status).toBe(401);
  });
});
