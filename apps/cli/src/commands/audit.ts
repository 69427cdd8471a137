/**
 * `argus audit verify|export|tail`: check the hash chain of a range, export records as JSONL for a
 * SIEM, follow live decisions over Server-Sent Events. Exit codes: 0 ok, 1 chain broken, 2 cannot run.
 * The audit library (SQLite, the chain) loads when a command runs, not when the CLI starts.
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ChainedRecord, ChainIssue } from '@argus/audit';
import type { Command } from 'commander';
import { createParser } from 'eventsource-parser';
import { styleForStream } from '../style.ts';
import { describeUnreachable, isUnreachable } from '../unreachable.ts';

/** Where a command writes; the process streams unless a test passes its own. */
export interface AuditCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const processIo: AuditCliIo = { stdout: process.stdout, stderr: process.stderr };

/** Options of `argus audit verify`. */
export interface VerifyCliOptions {
  db: string;
  from?: string;
  to?: string;
  publicKey?: string;
  /** The signed head (`audit-head.json`); default: the one beside the database, when there. */
  head?: string;
  writer?: string;
  json?: boolean;
}

/** Options of `argus audit export`. */
export interface ExportCliOptions {
  db: string;
  from?: string;
  to?: string;
  writer?: string;
  out?: string;
  checkpoints?: boolean;
}

/** Options of `argus audit tail`. */
export interface TailCliOptions {
  url: string;
  filter?: string[];
  token?: string;
  /** Stop after this many records (scripts, tests). */
  count?: string;
  reconnect?: boolean;
}

/** A failure that means the command could not run at all (exit 2). */
class CannotRun extends Error {}

function seqOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new CannotRun(`--${name} must be a positive integer, got \`${value}\``);
  return Number(value);
}

async function openStore(db: string) {
  const { openSqliteAuditStore } = await import('@argus/audit');
  try {
    return openSqliteAuditStore({ path: db, readonly: true });
  } catch {
    throw new CannotRun(`cannot open audit database \`${db}\``);
  }
}

function describeIssue(i: ChainIssue): string {
  return `${i.kind}: ${i.message}${i.decisionId ? ` (decision \`${i.decisionId}\`)` : ''}`;
}

/** Verifies the chain in the database; returns the exit code. */
export async function runAuditVerify(opts: VerifyCliOptions, io: AuditCliIo = processIo): Promise<number> {
  try {
    const { loadPublicKey } = await import('@argus/audit');
    const from = seqOption(opts.from, 'from', 1);
    const to = seqOption(opts.to, 'to', Number.MAX_SAFE_INTEGER);
    if (to < from) throw new CannotRun('--to must not be below --from');
    let key;
    // The writer keeps its key and signed head beside the database (`audit-key.pub`, `audit-head.json`).
    const publicKey = opts.publicKey ?? besideDb(opts.db, 'audit-key.pub');
    if (publicKey) {
      let text: string;
      try {
        text = readFileSync(publicKey, 'utf8');
      } catch {
        throw new CannotRun(`cannot read public key file \`${publicKey}\``);
      }
      try {
        key = loadPublicKey(text);
      } catch {
        throw new CannotRun(`\`${publicKey}\` is not an Ed25519 public key (PEM or JWK)`);
      }
    }
    // A signed head says how far the chain went: a cut tail fails. Only for a whole-chain check.
    const headFile = opts.head ?? (opts.to === undefined && opts.from === undefined ? besideDb(opts.db, 'audit-head.json') : undefined);
    let head: ChainedRecord | undefined;
    if (headFile) {
      try {
        head = JSON.parse(readFileSync(headFile, 'utf8')) as ChainedRecord;
      } catch {
        throw new CannotRun(`cannot read the signed head \`${headFile}\``);
      }
    }
    const store = await openStore(opts.db);
    let v;
    try {
      // The chain, and that each row's query columns hold what its record says.
      v = store.verify(from, to, {
        writer: opts.writer,
        publicKey: key,
        ...(head && (!opts.writer || head.writer === opts.writer) ? { head } : {}),
      });
    } catch (err) {
      throw new CannotRun(`cannot read audit records: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await store.close();
    }
    if (opts.json) io.stdout.write(`${JSON.stringify(v)}\n`);
    if (v.ok) {
      if (!opts.json) {
        const sig = v.signaturesChecked
          ? `${v.checkpointsVerified} checkpoint signature(s) verified`
          : 'checkpoint signatures not checked (no --public-key)';
        const pruned = Object.entries(v.pruned ?? {})
          .map(([writer, seq]) => `; records of \`${writer}\` below ${seq} deleted by the retention period (signed)`)
          .join('');
        io.stdout.write(
          `${styleForStream(io.stdout).ok('ok')}: ${v.checked} record(s) from ${v.writers.length} writer(s) verified; ${sig}${pruned}\n`,
        );
      }
      return 0;
    }
    if (!opts.json) {
      io.stdout.write(`${styleForStream(io.stdout).fail('broken')}: ${describeIssue(v.first!)}\n`);
      if (v.issues.length > 1)
        io.stdout.write(
          `${v.issues.length - 1} more issue(s); first 10:\n${v.issues
            .slice(1, 11)
            .map((i) => `  ${describeIssue(i)}`)
            .join('\n')}\n`,
        );
    }
    return 1;
  } catch (err) {
    io.stderr.write(`argus audit verify: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

function besideDb(db: string, name: string): string | undefined {
  const path = join(dirname(db), name);
  return existsSync(path) ? path : undefined;
}

/** Writes the records of a range as JSONL; returns the exit code. */
export async function runAuditExport(opts: ExportCliOptions, io: AuditCliIo = processIo): Promise<number> {
  try {
    const from = seqOption(opts.from, 'from', 1);
    const to = seqOption(opts.to, 'to', Number.MAX_SAFE_INTEGER);
    const store = await openStore(opts.db);
    const file = opts.out ? createWriteStream(opts.out) : undefined;
    const out: NodeJS.WritableStream = file ?? io.stdout;
    let n = 0;
    try {
      for (const rec of store.iterate(from, to, opts.writer)) {
        if (rec.kind === 'checkpoint' && opts.checkpoints === false) continue;
        if (!out.write(`${JSON.stringify(rec)}\n`)) await new Promise((r) => out.once('drain', r));
        n++;
      }
    } finally {
      await store.close();
    }
    if (file) {
      await new Promise<void>((resolve, reject) => {
        file.once('error', reject);
        file.end(() => resolve());
      });
    }
    io.stderr.write(`exported ${n} record(s)\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`argus audit export: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

function tailUrl(base: string, filters: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL('/v1/decisions/stream', base);
  } catch {
    throw new CannotRun(`invalid --url \`${base}\``);
  }
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0) throw new CannotRun(`--filter must be key=value, got \`${f}\``);
    url.searchParams.append(f.slice(0, i), f.slice(i + 1));
  }
  return url;
}

/**
 * Follows `GET /v1/decisions/stream` and prints each record as a JSON line. Reconnects with backoff
 * unless `reconnect` is false; stops on `signal`, or after `count` records.
 */
export async function runAuditTail(opts: TailCliOptions, io: AuditCliIo = processIo, signal?: AbortSignal): Promise<number> {
  let url: URL;
  try {
    url = tailUrl(opts.url, opts.filter ?? []);
  } catch (err) {
    io.stderr.write(`argus audit tail: ${(err as Error).message}\n`);
    return 2;
  }
  const limit = opts.count === undefined ? Infinity : Number(opts.count);
  let seen = 0;
  let backoffMs = 500;
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  const token = opts.token ?? process.env.ARGUS_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  for (;;) {
    if (signal?.aborted) return 0;
    try {
      const res = await fetch(url, { headers, ...(signal ? { signal } : {}) });
      if (res.status === 400 || res.status === 401 || res.status === 403 || res.status === 404) {
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        io.stderr.write(`argus audit tail: ${res.status} ${body.message ?? res.statusText}\n`);
        return 2;
      }
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      backoffMs = 500;
      const decoder = new TextDecoder();
      const events: string[] = [];
      const parser = createParser({ onEvent: (event) => events.push(event.data) });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        for (const data of events.splice(0)) {
          if (data === '') continue;
          const rec = JSON.parse(data) as ChainedRecord;
          io.stdout.write(`${JSON.stringify(rec)}\n`);
          if (++seen >= limit) return 0;
        }
      }
      throw new Error('stream ended');
    } catch (err) {
      if (signal?.aborted) return 0;
      const why = isUnreachable(err)
        ? describeUnreachable(url.href, err)
        : `${err instanceof Error ? err.message : String(err)} (${url.href})`;
      if (opts.reconnect === false) {
        io.stderr.write(`argus audit tail: ${why}\n`);
        return seen > 0 ? 0 : 2;
      }
      io.stderr.write(`argus audit tail: ${why}; reconnecting in ${backoffMs} ms\n`);
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The audit database the commands read by default: `ARGUS_AUDIT_DB`, else the file `argus serve`
 * writes in its data dir (`$ARGUS_DATA_DIR/audit.db`, `.argus/audit.db` by default) when it is
 * there, else the configuration's default sink (`.argus/argus.db`).
 */
export function defaultAuditDb(env: NodeJS.ProcessEnv = process.env, dir = process.cwd()): string {
  if (env.ARGUS_AUDIT_DB) return env.ARGUS_AUDIT_DB;
  const served = join(env.ARGUS_DATA_DIR ?? '.argus', 'audit.db');
  return existsSync(resolve(dir, served)) ? served : '.argus/argus.db';
}

/** `--db`, else the audit database of `argus serve --data-dir <dir>`, else {@link defaultAuditDb}. */
function auditDbOf(opts: { db?: string; dataDir?: string }, fallback: string): string {
  return opts.db ?? (opts.dataDir !== undefined ? join(opts.dataDir, 'audit.db') : fallback);
}

/** Registers `argus audit verify|export|tail` on the program. */
export function registerAuditCommands(program: Command, io: AuditCliIo = processIo): void {
  const audit = program.command('audit').description('verify, export and follow the decision audit trail');
  const defaultDb = defaultAuditDb();

  audit
    .command('verify')
    .description('check the hash chain and checkpoint signatures; exit 0 ok, 1 broken (first bad record shown), 2 cannot run')
    .option(
      '--db <path>',
      `SQLite database holding audit_records (default: $ARGUS_AUDIT_DB, else $ARGUS_DATA_DIR/audit.db (.argus/audit.db) when there, else .argus/argus.db; here: ${defaultDb})`,
    )
    .option('--data-dir <dir>', 'the data dir of `argus serve` (its audit.db), instead of --db')
    .option('--from <seq>', 'first sequence number of the range')
    .option('--to <seq>', 'last sequence number of the range')
    .option('--writer <id>', 'only this writer’s chain')
    .option('--public-key <file>', 'Ed25519 public key (PEM or JWK) to check checkpoint signatures (default: audit-key.pub beside --db)')
    .option('--head <file>', 'signed head the chain must reach, else its tail was cut (default: audit-head.json beside --db)')
    .option('--json', 'print the full verification report as JSON')
    .action(async (opts: VerifyCliOptions & { dataDir?: string }) => {
      process.exitCode = await runAuditVerify({ ...opts, db: auditDbOf(opts, defaultDb) }, io);
    });

  audit
    .command('export')
    .description('write audit records as JSONL (one chained record per line), in storage order')
    .option(
      '--db <path>',
      `SQLite database holding audit_records (default: $ARGUS_AUDIT_DB, else $ARGUS_DATA_DIR/audit.db (.argus/audit.db) when there, else .argus/argus.db; here: ${defaultDb})`,
    )
    .option('--data-dir <dir>', 'the data dir of `argus serve` (its audit.db), instead of --db')
    .option('--from <seq>', 'first sequence number')
    .option('--to <seq>', 'last sequence number')
    .option('--writer <id>', 'only this writer’s chain')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--no-checkpoints', 'leave checkpoint records out')
    .action(async (opts: ExportCliOptions & { dataDir?: string }) => {
      process.exitCode = await runAuditExport({ ...opts, db: auditDbOf(opts, defaultDb) }, io);
    });

  audit
    .command('tail')
    .description('follow live decisions (Server-Sent Events from GET /v1/decisions/stream)')
    .option('--url <url>', 'decision API base URL', process.env.ARGUS_URL ?? 'http://127.0.0.1:8181')
    .option('--filter <key=value>', 'filter (principal, root, goal, intent, action, decision, policy); repeatable', collect, [])
    .option('--token <token>', 'bearer token (default: $ARGUS_TOKEN)')
    .option('--count <n>', 'stop after n records')
    .option('--no-reconnect', 'exit when the stream ends instead of reconnecting')
    .action(async (opts: TailCliOptions) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        process.exitCode = await runAuditTail(opts, io, stop.signal);
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
