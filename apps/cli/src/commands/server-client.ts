/**
 * The HTTP client of the CLI commands that talk to a running Argus (`argus delegations`,
 * `argus goals`): where the server is, which bearer token to present, and how a failure becomes
 * one clear line and an exit code.
 *
 * Exit codes, as for every argus command: 0 ok; 1 the server refused the operation (403, 404,
 * 409: a widened scope, an unknown grant, an illegal transition); 2 cannot run (bad options, no
 * token, the server unreachable, a rejected credential or request body, a server fault).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { describeUnreachable } from '../unreachable.ts';

/** Where a server command writes; the process streams unless a test passes its own. */
export interface ServerCliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Directory `.argus/admin-token` is looked up in. Default: the working directory. */
  cwd?: string;
}

/** The process's own streams and environment. */
export const processServerIo: ServerCliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/** Options every server command takes. */
export interface ServerOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Bad options or a missing token: exit 2 with the message. */
export class CannotRun extends Error {}

/** The server answered with an error: `exitCode` 1 when it refused, 2 otherwise. */
export class ServerRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }

  /** 1 for a refusal of a well-formed request by an authenticated caller, 2 for everything else. */
  get exitCode(): number {
    return this.status === 403 || this.status === 404 || this.status === 409 ? 1 : 2;
  }
}

/** The server's base URL: `--url`, else `ARGUS_URL`, else the `argus serve` default. */
export function serverUrl(opts: ServerOptions, env: NodeJS.ProcessEnv): string {
  const raw = opts.url ?? env.ARGUS_URL ?? 'http://127.0.0.1:8181';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CannotRun(`invalid --url \`${raw}\``);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CannotRun(`--url must be http(s), got \`${raw}\``);
  return url.href.replace(/\/+$/, '');
}

/**
 * The bearer token: `--token`, else `ARGUS_TOKEN`, else `ARGUS_ADMIN_TOKEN`, else the file
 * `argus serve` writes (`$ARGUS_DATA_DIR/admin-token`, default `.argus/admin-token`).
 */
export function serverToken(opts: ServerOptions, io: ServerCliIo): string {
  const direct = opts.token ?? io.env.ARGUS_TOKEN ?? io.env.ARGUS_ADMIN_TOKEN;
  if (direct !== undefined && direct !== '') return direct;
  const file = resolve(io.cwd ?? process.cwd(), join(io.env.ARGUS_DATA_DIR ?? '.argus', 'admin-token'));
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '') return token;
  }
  throw new CannotRun(`no token: pass --token, set ARGUS_TOKEN or ARGUS_ADMIN_TOKEN, or run where \`argus serve\` wrote ${file}`);
}

interface WireError {
  code?: string;
  message?: string;
  errors?: Array<{ path?: string; message?: string }>;
}

/** Sends one JSON request; answers the parsed body of a 2xx, throws `ServerRefused` / `CannotRun` otherwise. */
export async function callServer<T>(opts: ServerOptions, io: ServerCliIo, method: string, path: string, body?: unknown): Promise<T> {
  const url = `${serverUrl(opts, io.env)}${path}`;
  const token = serverToken(opts, io);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new CannotRun(describeUnreachable(url, err, { method }));
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.ok) {
    if (parsed === undefined) throw new CannotRun(`${method} ${url} answered ${res.status} with a body that is not JSON`);
    return parsed as T;
  }
  const e = (parsed ?? {}) as WireError;
  const details = (e.errors ?? []).map((x) => `${x.path ?? ''}: ${x.message ?? ''}`).join('; ');
  throw new ServerRefused(
    `${method} ${url} answered ${res.status}${e.code ? ` ${e.code}` : ''}: ${e.message ?? res.statusText}${details ? ` (${details})` : ''}`,
    res.status,
  );
}

/** Runs a command body and maps its failure to one stderr line and an exit code. */
export async function runServerCommand(name: string, io: ServerCliIo, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    io.stderr.write(`argus ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof ServerRefused) return err.exitCode;
    if (err instanceof CannotRun) return 2;
    throw err;
  }
}

/**
 * A point in time from `--expires`: an ISO date-time, or a duration from `now` (`90s`, `30m`,
 * `2h`, `7d`).
 */
export function expiryOf(value: string, now: Date, option = '--expires'): string {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (m) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() + Number(m[1]) * unit).toISOString();
  }
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(t))
    throw new CannotRun(`${option} must be a duration (30m, 2h, 7d) or an ISO date-time, got \`${value}\``);
  return new Date(t).toISOString();
}

/** A whole number from an option, or a `CannotRun` naming it. */
export function wholeNumber(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new CannotRun(`${option} must be a whole number, got \`${value}\``);
  return Number(value);
}

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Fixed-width text columns (first row: the header). */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** The options every server command takes: where Argus is, the credential, JSON output. */
export function serverOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Argus base URL (env ARGUS_URL, default http://127.0.0.1:8181)')
    .option('--token <token>', 'bearer token (env ARGUS_TOKEN or ARGUS_ADMIN_TOKEN, else .argus/admin-token)')
    .option('--json', "print the server's JSON");
}

/** Pages through a list route (`{items, nextCursor}`) up to `max` items. */
export async function listAll<T>(opts: ServerOptions, io: ServerCliIo, path: string, query: URLSearchParams, max: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams(query);
    q.set('limit', String(Math.min(100, max - out.length)));
    if (cursor) q.set('cursor', cursor);
    const page = await callServer<{ items: T[]; nextCursor?: string }>(opts, io, 'GET', `${path}?${q.toString()}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out;
}

/** Prints what the server answered: its JSON (indented) under `--json`, else the text `describe` makes of it. */
export function printAnswer<T>(opts: ServerOptions, io: ServerCliIo, answer: T, describe: (answer: T) => string): void {
  io.stdout.write(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : describe(answer));
}

/** Prints a listing: its JSON (indented) under `--json`, else `none` for an empty one, else a table of `header` and a row per item. */
export function printTable<T>(
  opts: ServerOptions,
  io: ServerCliIo,
  items: readonly T[],
  none: string,
  header: string[],
  row: (item: T) => string[],
): void {
  if (opts.json) io.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  else if (items.length === 0) io.stdout.write(`${none}\n`);
  else io.stdout.write(columns([header, ...items.map(row)]));
}
