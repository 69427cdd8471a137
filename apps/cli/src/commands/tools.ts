/**
 * `argus tools list|set`: the MCP tools of a registered server and their governance attributes,
 * over HTTP. Discovery fills a tool's name, description and schema; an admin sets what it cannot
 * know — `sensitivity`, the intents it serves, a category, labels — which the decision API gives
 * Cedar as the Tool's attributes. Setting them never changes the tool's hash or the server's trust.
 * Exit codes: 0 ok, 1 refused by the server (unknown server or tool, not an admin), 2 cannot run.
 */
import type { Command } from 'commander';
import {
  callServer,
  CannotRun,
  collect,
  columns,
  printAnswer,
  processServerIo,
  runServerCommand,
  serverOptions,
  type ServerCliIo,
  type ServerOptions,
} from './server-client.ts';

/** A tool as the registry answers it. */
export interface ToolRecord {
  name: string;
  description: string;
  hash: string;
  sensitivity?: string;
  allowedIntents?: string[];
  category?: string;
  labels?: Record<string, string>;
}

interface ServerRecord {
  id: string;
  trust: string;
  tools: ToolRecord[];
}

/** Options of `argus tools set`. */
export interface SetToolOptions extends ServerOptions {
  sensitivity?: string;
  intent?: string[];
  category?: string;
  label?: string[];
  clear?: string[];
}

export const SENSITIVITIES = ['public', 'internal', 'confidential', 'high', 'secret'];
const CLEARABLE = ['sensitivity', 'intents', 'category', 'labels'];

/** The attributes body of `argus tools set` (what the options ask for), or a `CannotRun` naming the bad option. */
export function attributesOf(opts: SetToolOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const c of opts.clear ?? []) {
    if (!CLEARABLE.includes(c)) throw new CannotRun(`--clear takes one of ${CLEARABLE.join(', ')}, got \`${c}\``);
    body[c === 'intents' ? 'allowedIntents' : c] = null;
  }
  if (opts.sensitivity !== undefined) {
    if (!SENSITIVITIES.includes(opts.sensitivity))
      throw new CannotRun(`--sensitivity must be one of ${SENSITIVITIES.join(', ')}, got \`${opts.sensitivity}\``);
    body.sensitivity = opts.sensitivity;
  }
  if (opts.intent !== undefined) body.allowedIntents = opts.intent;
  if (opts.category !== undefined) body.category = opts.category;
  if (opts.label !== undefined) {
    const labels: Record<string, string> = {};
    for (const l of opts.label) {
      const eq = l.indexOf('=');
      if (eq <= 0) throw new CannotRun(`--label takes key=value, got \`${l}\``);
      labels[l.slice(0, eq)] = l.slice(eq + 1);
    }
    body.labels = labels;
  }
  if (Object.keys(body).length === 0) throw new CannotRun('nothing to set: give --sensitivity, --intent, --category, --label or --clear');
  return body;
}

/** One line of attributes for a tool. */
function describe(t: ToolRecord): string[] {
  const labels = Object.entries(t.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return [t.name, t.sensitivity ?? '—', (t.allowedIntents ?? []).join(',') || '—', t.category ?? '—', labels || '—', t.hash.slice(0, 12)];
}

/** `argus tools list <server>`: `GET /v1/registry/mcp-servers/{id}`. */
export function runListTools(server: string, opts: ServerOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('tools list', io, async () => {
    const record = await callServer<ServerRecord>(opts, io, 'GET', `/v1/registry/mcp-servers/${encodeURIComponent(server)}`);
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(record.tools, null, 2)}\n`);
      return;
    }
    if (record.tools.length === 0) {
      io.stdout.write(`server ${record.id} (${record.trust}) has no tools\n`);
      return;
    }
    io.stdout.write(`server ${record.id} (${record.trust})\n`);
    io.stdout.write(columns([['tool', 'sensitivity', 'intents', 'category', 'labels', 'hash'], ...record.tools.map(describe)]));
  });
}

/** `argus tools set <server> <tool>`: `PATCH /v1/registry/mcp-servers/{id}/tools/{tool}`. */
export function runSetTool(server: string, tool: string, opts: SetToolOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('tools set', io, async () => {
    const body = attributesOf(opts);
    const path = `/v1/registry/mcp-servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool)}`;
    const record = await callServer<ServerRecord>(opts, io, 'PATCH', path, body);
    printAnswer(
      opts,
      io,
      record.tools.find((t) => t.name === tool),
      (updated) => {
        const [, sensitivity, intents, category, labels] = describe(updated!);
        return `tool ${server}/${tool}: sensitivity ${sensitivity}; intents ${intents}; category ${category}; labels ${labels} (server ${record.trust})\n`;
      },
    );
  });
}

/** Registers `argus tools list|set` on `program`. */
export function registerToolCommands(program: Command, io: ServerCliIo = processServerIo): Command {
  const tools = program
    .command('tools')
    .description('list the MCP tools of a server and set their governance attributes (exit 0 ok, 1 refused, 2 cannot run)');
  serverOptions(
    tools
      .command('list')
      .description('the tools of a registered MCP server with their attributes')
      .argument('<server>', 'the MCP server id'),
  ).action(async (server: string, opts: ServerOptions) => {
    process.exitCode = await runListTools(server, opts, io);
  });
  serverOptions(
    tools
      .command('set')
      .description("set a tool's governance attributes (admin); never changes its hash or the server's trust")
      .argument('<server>', 'the MCP server id')
      .argument('<tool>', 'the tool name')
      .option('--sensitivity <level>', SENSITIVITIES.join(' | '))
      .option('--intent <name>', 'an intent the tool serves (repeatable; replaces the list)', collect)
      .option('--category <name>', "the tool's category")
      .option('--label <key=value>', 'a label (repeatable; replaces the labels)', collect)
      .option('--clear <attribute>', `remove an attribute (${CLEARABLE.join(', ')}; repeatable)`, collect),
  ).action(async (server: string, tool: string, opts: SetToolOptions) => {
    process.exitCode = await runSetTool(server, tool, opts, io);
  });
  return tools;
}
