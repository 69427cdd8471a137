/**
 * `argus switches list|stop|resume` against a real `argus serve` (starter policies, SQLite):
 * the round trip, the decisions it changes, and the exit codes (0 ok, 1 refused, 2 cannot run).
 */
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliIo, startServe, type ServeFixture } from '../testing/serve-fixture.ts';
import { registerSwitchCommands, runListSwitches, runResumeSwitch, runStopSwitch, switchPath } from './switches.ts';
import type { ServerCliIo } from './server-client.ts';

let argus: ServeFixture;
let out: string;
let err: string;
let io: ServerCliIo;

const decide = async (agent: string, toolId = 'github/create_issue') => {
  const input = {
    principal: { type: 'Agent', id: agent },
    action: 'tool:call',
    resource: { type: 'Tool', id: toolId, attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
    intent: 'lookup-order-status',
  };
  return (await argus.call('POST', '/v1/authorize', { input })).body.result as { allow: boolean; codes?: string[] };
};

beforeAll(async () => {
  argus = await startServe('cli-switches', ['bot-a', 'bot-b']);
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

describe('argus switches', () => {
  it('stop → list → decisions deny → resume → allowed, exit 0 each', async () => {
    expect(await runListSwitches({}, io)).toBe(0);
    expect(out).toBe('nothing is stopped\n');

    expect(await runStopSwitch('agent', 'bot-a', { reason: 'sending mail in a loop' }, io)).toBe(0);
    expect(out).toContain('stopped agent bot-a: sending mail in a loop');
    expect(await runStopSwitch('tool', 'github/search_issues', { reason: 'spam' }, io)).toBe(0);
    out = '';
    expect(await runListSwitches({}, io)).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^scope\s+id\s+by\s+at\s+reason$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'agent bot-a admin',
      'tool github/search_issues admin',
    ]);

    expect(await decide('bot-a')).toMatchObject({ allow: false, codes: ['switch_stopped'] });
    expect((await decide('bot-b')).allow).toBe(true);
    expect((await decide('bot-b', 'github/search_issues')).codes).toEqual(['switch_stopped']);

    out = '';
    expect(await runListSwitches({ json: true }, io)).toBe(0);
    expect((JSON.parse(out) as { switches: unknown[]; snapshot: { fresh: boolean } }).snapshot.fresh).toBe(true);

    expect(await runResumeSwitch('agent', 'bot-a', {}, io)).toBe(0);
    expect(await runResumeSwitch('tool', 'github/search_issues', {}, io)).toBe(0);
    expect(out).toContain('resumed agent bot-a (stopped by admin at ');
    expect((await decide('bot-a')).allow).toBe(true);
    expect((await decide('bot-b', 'github/search_issues')).allow).toBe(true);
    expect(err).toBe('');
  }, 30_000);

  it('stop all needs --yes; then every decision is denied until resumed', async () => {
    expect(await runStopSwitch('all', undefined, { reason: 'incident 12' }, io)).toBe(2);
    expect(err).toContain('confirm with --yes');
    expect((await decide('bot-a')).allow).toBe(true);
    expect(await runStopSwitch('all', undefined, { reason: 'incident 12', yes: true }, io)).toBe(0);
    expect(out).toContain('stopped everything: incident 12');
    expect((await decide('bot-b', 'jira/search')).codes).toEqual(['switch_stopped']);
    expect(await runResumeSwitch('all', undefined, {}, io)).toBe(0);
    expect((await decide('bot-b', 'jira/search')).allow).toBe(true);
  }, 30_000);

  it('exit 1 when the server refuses (resuming what is not stopped); 2 when it cannot run (a rejected token, bad arguments, a rejected id, no server)', async () => {
    expect(await runResumeSwitch('agent', 'nobody', {}, io)).toBe(1);
    expect(err).toMatch(/404 not_found: agent `nobody` is not stopped/);
    err = '';
    expect(await runStopSwitch('agent', 'bot-a', { reason: 'r', token: 'not-a-token' }, io)).toBe(2);
    expect(err).toContain('401');
    err = '';
    expect(await runStopSwitch('colour', 'x', { reason: 'r' }, io)).toBe(2);
    expect(err).toContain('the scope must be one of all, agent, tool, server');
    expect(await runStopSwitch('agent', undefined, { reason: 'r' }, io)).toBe(2);
    expect(await runStopSwitch('agent', 'bot-a', { reason: ' ' }, io)).toBe(2);
    // A tool id the server rejects: 400 naming the path, exit 2.
    err = '';
    expect(await runStopSwitch('tool', 'create_issue', { reason: 'r' }, io)).toBe(2);
    expect(err).toContain('(/id: a tool id is `<server>/<tool>`)');
    expect(await runListSwitches({ url: 'http://127.0.0.1:1' }, io)).toBe(2);
    expect((await decide('bot-a')).allow).toBe(true);
  }, 30_000);

  it('is registered on the program with its arguments', () => {
    const program = new Command('argus').exitOverride();
    const group = registerSwitchCommands(program, io);
    expect(group.commands.map((c) => c.name())).toEqual(['list', 'stop', 'resume']);
    expect(switchPath('tool', 'github/create issue')).toBe('/v1/switches/tool/github/create%20issue');
    expect(switchPath('all', undefined)).toBe('/v1/switches/all');
  });
});
