/**
 * `argus switches list|stop|resume`: the kill switches of a running Argus, over HTTP (admin token).
 *
 *   argus switches stop agent support-bot --reason "sending mail in a loop"
 *   argus switches stop tool github/create_issue --reason "spam"
 *   argus switches stop server github --reason "token leaked"
 *   argus switches stop all --reason "incident 12" --yes
 *   argus switches resume agent support-bot
 *
 * Exit codes: 0 ok; 1 refused by the server (403, or 404: resuming what is not stopped); 2 cannot
 * run (bad arguments, no token, unreachable server, a request the server rejects).
 */
import type { Command } from 'commander';
import type { SwitchRecord } from '@argus/store';
import {
  callServer,
  CannotRun,
  columns,
  printAnswer,
  processServerIo,
  runServerCommand,
  type ServerCliIo,
  type ServerOptions,
} from './server-client.ts';

/** What `GET /v1/switches` answers. */
export interface SwitchList {
  switches: SwitchRecord[];
  snapshot: { fresh: boolean; ageMs: number | null; maxStaleMs: number; error?: string };
}

/** Options of `argus switches stop`. */
export interface StopSwitchOptions extends ServerOptions {
  reason?: string;
  /** Required for `stop all`: it stops every decision. */
  yes?: boolean;
}

const SCOPES = ['all', 'agent', 'tool', 'server'];

/** The API path of a switch: `/v1/switches/all` or `/v1/switches/<scope>/<id>` (a tool's slash kept as a path separator). */
export function switchPath(scope: string, id: string | undefined): string {
  if (!SCOPES.includes(scope)) throw new CannotRun(`the scope must be one of ${SCOPES.join(', ')}, got \`${scope}\``);
  if (scope === 'all') {
    if (id !== undefined) throw new CannotRun('`all` takes no id');
    return '/v1/switches/all';
  }
  if (id === undefined || id === '') throw new CannotRun(`\`${scope}\` needs an id${scope === 'tool' ? ' (`<server>/<tool>`)' : ''}`);
  return `/v1/switches/${scope}/${id.split('/').map(encodeURIComponent).join('/')}`;
}

/** `argus switches list`: `GET /v1/switches`. */
export function runListSwitches(opts: ServerOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('switches list', io, async () => {
    const list = await callServer<SwitchList>(opts, io, 'GET', '/v1/switches');
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return;
    }
    if (!list.snapshot.fresh)
      io.stdout.write(
        `warning: this server cannot read its switches (${list.snapshot.error ?? 'snapshot too old'}): every decision is denied switches_unavailable\n`,
      );
    if (list.switches.length === 0) {
      io.stdout.write('nothing is stopped\n');
      return;
    }
    const rows = [['scope', 'id', 'by', 'at', 'reason']];
    for (const s of list.switches) rows.push([s.scope, s.scope === 'all' ? '*' : s.id, s.by, s.at, s.reason]);
    io.stdout.write(columns(rows));
  });
}

/** `argus switches stop <scope> [id] --reason`: `PUT /v1/switches/...`. */
export function runStopSwitch(
  scope: string,
  id: string | undefined,
  opts: StopSwitchOptions,
  io: ServerCliIo = processServerIo,
): Promise<number> {
  return runServerCommand('switches stop', io, async () => {
    const path = switchPath(scope, id);
    if (!opts.reason || opts.reason.trim() === '')
      throw new CannotRun('a stop needs --reason "<why>" (it is shown in every deny it causes)');
    if (scope === 'all' && !opts.yes) throw new CannotRun('`stop all` denies every decision of every agent: confirm with --yes');
    const answer = await callServer<{ switch: SwitchRecord }>(opts, io, 'PUT', path, { reason: opts.reason });
    printAnswer(opts, io, answer, (a) => `stopped ${describe(a.switch)}: ${a.switch.reason}\n`);
  });
}

/** `argus switches resume <scope> [id]`: `DELETE /v1/switches/...`. */
export function runResumeSwitch(
  scope: string,
  id: string | undefined,
  opts: ServerOptions,
  io: ServerCliIo = processServerIo,
): Promise<number> {
  return runServerCommand('switches resume', io, async () => {
    const answer = await callServer<{ resumed: SwitchRecord }>(opts, io, 'DELETE', switchPath(scope, id));
    printAnswer(opts, io, answer, (a) => `resumed ${describe(a.resumed)} (stopped by ${a.resumed.by} at ${a.resumed.at})\n`);
  });
}

function describe(s: SwitchRecord): string {
  return s.scope === 'all' ? 'everything' : `${s.scope} ${s.id}`;
}

function serverOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Argus base URL (env ARGUS_URL, default http://127.0.0.1:8181)')
    .option('--token <token>', 'admin token (env ARGUS_TOKEN or ARGUS_ADMIN_TOKEN, else .argus/admin-token)')
    .option('--json', "print the server's JSON");
}

/** Registers `argus switches list|stop|resume` on `program`. */
export function registerSwitchCommands(program: Command, io: ServerCliIo = processServerIo): Command {
  const switches = program
    .command('switches')
    .description('stop and resume agents, tools, MCP servers or everything on a running Argus (exit 0 ok, 1 refused, 2 cannot run)');
  serverOptions(switches.command('list').description('what is stopped, by whom, when and why')).action(async (opts: ServerOptions) => {
    process.exitCode = await runListSwitches(opts, io);
  });
  serverOptions(
    switches
      .command('stop')
      .description('stop an agent, a tool (<server>/<tool>), an MCP server, or all: its decisions are denied switch_stopped')
      .argument('<scope>', `one of ${SCOPES.join(', ')}`)
      .argument('[id]', 'the agent, tool or server id (none for all)')
      .requiredOption('--reason <text>', 'why (shown in every deny the switch causes)')
      .option('--yes', 'confirm `stop all`'),
  ).action(async (scope: string, id: string | undefined, opts: StopSwitchOptions) => {
    process.exitCode = await runStopSwitch(scope, id, opts, io);
  });
  serverOptions(
    switches
      .command('resume')
      .description('resume a stopped switch')
      .argument('<scope>', `one of ${SCOPES.join(', ')}`)
      .argument('[id]', 'the agent, tool or server id (none for all)'),
  ).action(async (scope: string, id: string | undefined, opts: ServerOptions) => {
    process.exitCode = await runResumeSwitch(scope, id, opts, io);
  });
  return switches;
}
