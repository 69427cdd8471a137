import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthorizedError, UnavailableError } from '@argus/platform';
import { HttpRegistryClient } from './registry-client.ts';
import { reportFindings } from './report.ts';
import type { Finding } from './types.ts';

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: unknown;
}

describe('HttpRegistryClient against a loopback registry stub', () => {
  const seen: Seen[] = [];
  const records = new Map<string, unknown>();
  let server: Server;
  let url: string;
  const TOKEN = 'scanner-secret-token-123';

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.use((req, res, next) => {
      seen.push({ method: req.method, path: req.path, auth: req.headers.authorization, body: req.body as unknown });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.status(401).json({ code: 'unauthorized', message: 'missing or invalid credential', errors: [] });
        return;
      }
      next();
    });
    app.put('/v1/registry/:collection/:id', (req, res) => {
      if (req.params.id === 'bad-one') {
        res.status(400).json({ code: 'invalid_parameter', message: 'invalid body', errors: [{ path: '/name', message: 'too long' }] });
        return;
      }
      if (req.params.id === 'boom') {
        res.status(503).json({ code: 'unavailable', message: 'db down', errors: [] });
        return;
      }
      const created = !records.has(req.params.id);
      records.set(req.params.id, req.body);
      res.status(created ? 201 : 200).json({ id: req.params.id, trust: 'discovered' });
    });
    app.post('/v1/registry/:collection/:id/lease', (req, res) => {
      res.status(200).json({ id: req.params.id, expiresAt: new Date(Date.now() + (req.body as { ttlMs: number }).ttlMs).toISOString() });
    });
    app.put('/slow/v1/registry/agents/:id', (_req, res) => {
      setTimeout(() => res.status(200).json({}), 2000);
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const mcp: Finding = {
    type: 'mcp-server',
    id: 'mcp-127-0-0-1-9000',
    name: 'orders',
    url: 'http://127.0.0.1:9000/mcp',
    transport: 'streamable-http',
    tools: [{ name: 'search', description: 'Search', inputSchema: { type: 'object' }, descriptionHash: 'x'.repeat(64) }],
    labels: { 'argus.dev/source': 'network' },
  };
  const agent: Finding = {
    type: 'agent',
    id: 'a2a-127-0-0-1-9001',
    name: 'bot',
    kind: 'a2a',
    url: 'http://127.0.0.1:9001',
    capabilities: ['skill:x'],
    labels: {},
  };

  it('upserts MCP servers and agents with the bearer token and the documented bodies, then renews leases', async () => {
    seen.length = 0;
    const client = new HttpRegistryClient({ url, token: TOKEN, timeoutMs: 1000 });
    const summary = await reportFindings(client, [mcp, agent, mcp], { scannerId: 'scanner-1', leaseTtlMs: 60_000 });
    expect(summary.rejected).toEqual([]);
    expect(summary.upserted).toEqual([
      { id: mcp.id, type: 'mcp-server', trust: 'discovered' },
      { id: agent.id, type: 'agent', trust: 'discovered' },
    ]);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'PUT /v1/registry/mcp-servers/mcp-127-0-0-1-9000',
      'POST /v1/registry/mcp-servers/mcp-127-0-0-1-9000/lease',
      'PUT /v1/registry/agents/a2a-127-0-0-1-9001',
      'POST /v1/registry/agents/a2a-127-0-0-1-9001/lease',
    ]);
    expect(seen.every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(seen[0]?.body).toEqual({
      name: 'orders',
      url: 'http://127.0.0.1:9000/mcp',
      transport: 'streamable-http',
      tools: [{ name: 'search', description: 'Search', inputSchema: { type: 'object' } }],
    });
    expect(seen[1]?.body).toEqual({ ttlMs: 60_000 });
    expect(seen[2]?.body).toEqual({
      name: 'bot',
      kind: 'a2a',
      url: 'http://127.0.0.1:9001',
      labels: { 'argus.dev/scanner': 'scanner-1' },
      capabilities: ['skill:x'],
    });
  });

  it('lists a record the registry rejects, with its wire error, and goes on', async () => {
    const client = new HttpRegistryClient({ url, token: TOKEN, timeoutMs: 1000 });
    const summary = await reportFindings(client, [{ ...agent, id: 'bad-one' }, agent], { scannerId: 's' });
    expect(summary.rejected).toEqual([{ id: 'bad-one', type: 'agent', status: 400, code: 'invalid_parameter', message: 'invalid body' }]);
    expect(summary.upserted.map((u) => u.id)).toEqual([agent.id]);
  });

  it('throws UnavailableError for 5xx, unreachable and slow registries, UnauthorizedError for a bad token; never echoes the token', async () => {
    const client = new HttpRegistryClient({ url, token: TOKEN, timeoutMs: 300 });
    await expect(client.upsertAgent('boom', { name: 'x', kind: 'a2a' })).rejects.toBeInstanceOf(UnavailableError);
    const slow = new HttpRegistryClient({ url: `${url}/slow`, token: TOKEN, timeoutMs: 300 });
    await expect(slow.upsertAgent('a', { name: 'x', kind: 'a2a' })).rejects.toThrow(/timed out after 300 ms/);
    const down = new HttpRegistryClient({ url: 'http://127.0.0.1:1', token: TOKEN, timeoutMs: 300 });
    const err = await down.upsertAgent('a', { name: 'x', kind: 'a2a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(JSON.stringify({ m: (err as Error).message, c: String((err as Error).cause) })).not.toContain(TOKEN);
    const wrong = new HttpRegistryClient({ url, token: 'wrong', timeoutMs: 300 });
    await expect(wrong.upsertAgent('a', { name: 'x', kind: 'a2a' })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
