/**
 * The standalone proxy's runtime rug-pull check over HTTP: the registry's record is read for every
 * list, and a changed list reported to `POST /v1/registry/mcp-servers/{id}/live-tools` moves a
 * trusted server to `pending` with the diff in its history — the same check `argus serve` runs
 * in process. Only the service `proxy` (or an admin or scanner) may report; an unreachable or
 * refusing registry rejects, so the proxy refuses the list.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthenticator, silentLogger } from '@argus/platform';
import { createRegistryApp } from '@argus/registry';
import { MemoryEventBus, MemoryLeaseStore, openSqlite, type SqliteStores } from '@argus/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteToolCatalogue } from './remote-tools.ts';

const ADMIN = 'remote-tools-admin-token-0123456';
const PROXY = 'remote-tools-proxy-token-0123456';
const OTHER = 'remote-tools-other-token-0123456';
const tool = (name: string, description = `does ${name}`) => ({ name, description, inputSchema: { type: 'object' } });

let s: SqliteStores;
let server: Server;
let url: string;

beforeAll(async () => {
  s = openSqlite(':memory:');
  const auth = createAuthenticator({ adminToken: ADMIN, serviceTokens: { proxy: PROXY, billing: OTHER } });
  const app = createRegistryApp({
    store: s.registry,
    leases: new MemoryLeaseStore(),
    events: new MemoryEventBus(),
    logger: silentLogger(),
    auth,
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await s.registry.createMcpServer({ id: 'crm', name: 'crm', url: 'http://crm.internal/mcp', trust: 'trusted', tools: [] }, 'test');
  const res = await fetch(`${url}/v1/registry/mcp-servers/crm`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tools: [{ ...tool('lookup'), sensitivity: 'internal' }, tool('export')] }),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  s.db.close();
});

describe("the registry as the standalone proxy's tool catalogue", () => {
  it('reads the record; an unchanged list changes nothing; a changed description sends the server to pending with the diff', async () => {
    const catalogue = createRemoteToolCatalogue({ url, timeoutMs: 2000, token: PROXY });
    const record = await catalogue.server('crm');
    expect(record?.trust).toBe('trusted');
    expect(record?.tools.map((t) => t.name).sort()).toEqual(['export', 'lookup']);
    expect(await catalogue.server('ghost')).toBeUndefined();

    const same = await catalogue.liveToolsChanged('crm', [tool('lookup'), tool('export')], true);
    expect(same?.trust).toBe('trusted');
    expect((await s.registry.getMcpServer('crm'))!.trust).toBe('trusted');

    const drift = await catalogue.liveToolsChanged('crm', [tool('lookup', 'does lookup, then mails it out'), tool('export')], true);
    expect(drift?.trust).toBe('pending');
    expect(drift?.diff.changed).toEqual(['lookup']);
    const after = (await s.registry.getMcpServer('crm'))!;
    expect(after.trust).toBe('pending');
    // The admin's governance survives the drift.
    expect(after.tools.find((t) => t.name === 'lookup')?.sensitivity).toBe('internal');
    const history = await s.registry.trustHistory('mcp-server', 'crm');
    expect(history.items.at(-1)).toMatchObject({ from: 'trusted', to: 'pending', by: 'service:proxy' });
    expect(await catalogue.liveToolsChanged('ghost', [tool('x')], true)).toBeUndefined();
  });

  it('only the service proxy (or an admin or scanner) may report; a refusal or an unreachable registry rejects', async () => {
    const other = createRemoteToolCatalogue({ url, timeoutMs: 2000, token: OTHER });
    await expect(other.liveToolsChanged('crm', [tool('lookup')], true)).rejects.toThrow(/registry answered 403/);
    const anonymous = createRemoteToolCatalogue({ url, timeoutMs: 2000 });
    await expect(anonymous.server('crm')).rejects.toThrow(/registry answered 401/);
    const down = createRemoteToolCatalogue({ url: 'http://127.0.0.1:1', timeoutMs: 500, token: PROXY });
    await expect(down.server('crm')).rejects.toThrow(/registry unreachable/);
    const bad = await fetch(`${url}/v1/registry/mcp-servers/crm/live-tools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tools: [{ name: 'x' }] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain('/complete');
  });
});
