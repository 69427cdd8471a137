/**
 * `argus tools list|set` against a real `argus serve` (starter policies, SQLite): an admin gives a
 * discovered tool the attributes the starter policies read, and the decision for it changes.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliIo, decideLookup, registerCrm, startServe, type ServeFixture } from '../testing/serve-fixture.ts';
import type { ServerCliIo } from './server-client.ts';
import { attributesOf, registerToolCommands, runListTools, runSetTool } from './tools.ts';

let argus: ServeFixture;
let out: string;
let err: string;
let io: ServerCliIo;

const decide = () => decideLookup(argus);

beforeAll(async () => {
  argus = await startServe('cli-tools', ['support-bot']);
  await registerCrm(argus);
}, 60_000);

afterAll(async () => {
  await argus?.close();
}, 30_000);

beforeEach(() => {
  out = '';
  err = '';
  io = cliIo(
    argus,
    (t) => (out += t),
    (t) => (err += t),
  );
});

describe('argus tools', () => {
  it('a discovered tool without attributes is denied by the starter policies; set them and it is allowed; clear and it is denied again', async () => {
    expect((await decide()).allow).toBe(false);
    expect(await runListTools('crm', {}, io)).toBe(0);
    expect(out).toMatch(/lookup_order\s+—\s+—/);

    out = '';
    expect(
      await runSetTool('crm', 'lookup_order', { sensitivity: 'internal', intent: ['lookup-order-status'], label: ['owner=support'] }, io),
    ).toBe(0);
    expect(out).toBe(
      'tool crm/lookup_order: sensitivity internal; intents lookup-order-status; category —; labels owner=support (server trusted)\n',
    );
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
    await program.parseAsync([
      'node',
      'argus',
      'tools',
      'set',
      'crm',
      'lookup_order',
      '--category',
      'orders',
      '--url',
      argus.running.url,
      '--token',
      argus.token,
    ]);
    expect(out).toContain('category orders');
  });
});
