/**
 * `argus tools list|set` against a real `argus serve` (starter policies, SQLite): an admin gives a
 * discovered tool the attributes the starter policies read, and the decision for it changes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serve, type RunningArgus } from './serve.ts';
import type { ServerCliIo } from './server-client.ts';
import { attributesOf, registerToolCommands, runListTools, runSetTool } from './tools.ts';

const REPO = resolve(import.meta.dirname, '../../../..');
let dataDir: string;
let running: RunningArgus;
let token: string;
let out: string;
let err: string;
let io: ServerCliIo;

/** A trusted agent calls the tool as the proxy asks: no caller-supplied attributes, the registry's only. */
const decide = async () => {
  const input = { principal: { type: 'Agent', id: 'support-bot' }, action: 'tool:call', resource: { type: 'Tool', id: 'crm/lookup_order' }, intent: 'lookup-order-status' };
  const res = await fetch(`${running.url}/v1/authorize`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  return ((await res.json()) as { result: { allow: boolean } }).result;
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'argus-cli-tools-'));
  running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
  token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const registry = running.runtime.storage.registry;
  await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
  await registry.createAgent({ id: 'support-bot', name: 'support bot', owner: 'alice', trust: 'trusted' }, 'test');
  const created = await fetch(`${running.url}/v1/registry/mcp-servers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'crm', name: 'CRM', url: 'http://crm.internal/mcp', trust: 'trusted', tools: [{ name: 'lookup_order', description: 'Look up an order', inputSchema: { type: 'object' } }] }),
  });
  if (created.status !== 201) throw new Error(`server not created: ${created.status}`);
}, 60_000);

afterAll(async () => {
  await running?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

beforeEach(() => {
  out = '';
  err = '';
  io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env: { ARGUS_URL: running.url, ARGUS_TOKEN: token } };
});

describe('argus tools', () => {
  it('a discovered tool without attributes is denied by the starter policies; set them and it is allowed; clear and it is denied again', async () => {
    expect((await decide()).allow).toBe(false);
    expect(await runListTools('crm', {}, io)).toBe(0);
    expect(out).toMatch(/lookup_order\s+—\s+—/);

    out = '';
    expect(await runSetTool('crm', 'lookup_order', { sensitivity: 'internal', intent: ['lookup-order-status'], label: ['owner=support'] }, io)).toBe(0);
    expect(out).toBe('tool crm/lookup_order: sensitivity internal; intents lookup-order-status; category —; labels owner=support (server trusted)\n');
    expect((await decide()).allow).toBe(true);

    out = '';
    expect(await runListTools('crm', { json: true }, io)).toBe(0);
    expect(JSON.parse(out)[0]).toMatchObject({ name: 'lookup_order', sensitivity: 'internal', allowedIntents: ['lookup-order-status'] });

    expect(await runSetTool('crm', 'lookup_order', { clear: ['sensitivity'] }, io)).toBe(0);
    expect((await decide()).allow).toBe(false);
    expect(err).toBe('');
  }, 30_000);

  it('exit 1 when the server refuses (unknown tool or server), 2 when nothing can run', async () => {
    expect(await runSetTool('crm', 'nope', { sensitivity: 'high' }, io)).toBe(1);
    expect(err).toMatch(/no tool `nope`/);
    expect(await runListTools('ghost', {}, io)).toBe(1);
    expect(await runSetTool('crm', 'lookup_order', {}, io)).toBe(2);
    expect(await runSetTool('crm', 'lookup_order', { sensitivity: 'extreme' }, io)).toBe(2);
    expect(await runSetTool('crm', 'lookup_order', { label: ['novalue'] }, io)).toBe(2);
    expect(() => attributesOf({ clear: ['colour'] })).toThrow(/--clear takes one of/);
  });

  it('is wired into the program', async () => {
    const program = new Command('argus').exitOverride();
    registerToolCommands(program, io);
    await program.parseAsync(['node', 'argus', 'tools', 'set', 'crm', 'lookup_order', '--category', 'orders', '--url', running.url, '--token', token]);
    expect(out).toContain('category orders');
  });
});
