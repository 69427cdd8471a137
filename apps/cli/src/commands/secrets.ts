/**
 * `argus secrets put|list|rm`: manage the encrypted credentials the proxy injects. Values come
 * from stdin or an environment variable and are never echoed, logged or listed.
 * Exit codes: 0 ok, 1 not found, 2 cannot run.
 */
import type { SecretStore } from '@argus/secrets';
import type { Command } from 'commander';

/** Where a secrets command reads and writes; the process streams unless a test passes its own. */
export interface SecretsCliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** Options shared by every secrets command. */
export interface SecretsStoreOptions {
  db: string;
  keyEnv: string;
  keyFile?: string;
}

/** Options of `argus secrets put`. */
export interface PutCliOptions extends SecretsStoreOptions {
  fromEnv?: string;
  description?: string;
}

/** Options of `argus secrets list`. */
export interface ListCliOptions extends SecretsStoreOptions {
  json?: boolean;
}

const processIo: SecretsCliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };

/** Largest value accepted on stdin. */
const MAX_VALUE_BYTES = 64 * 1024;

class CannotRun extends Error {}

/** Opens the encrypted store; the secrets library loads here, when a command runs. */
async function openStore(opts: SecretsStoreOptions, env: NodeJS.ProcessEnv): Promise<SecretStore> {
  const { loadSecretsKey, SqliteSecretStore } = await import('@argus/secrets');
  const key = loadSecretsKey({ keyEnv: opts.keyEnv, ...(opts.keyFile !== undefined ? { keyFile: opts.keyFile } : {}) }, env);
  return new SqliteSecretStore({ path: opts.db, key });
}

async function readValue(opts: PutCliOptions, io: SecretsCliIo): Promise<string> {
  if (opts.fromEnv !== undefined) {
    const value = io.env[opts.fromEnv];
    if (value === undefined || value === '') throw new CannotRun(`environment variable \`${opts.fromEnv}\` is not set`);
    return value;
  }
  if (io.stdin.isTTY) throw new CannotRun('pipe the value on stdin or use --from-env VAR (values are never typed on a terminal)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_VALUE_BYTES) throw new CannotRun(`value larger than ${MAX_VALUE_BYTES} bytes`);
    chunks.push(buf);
  }
  // One trailing newline is what `echo` and here-strings add; it is not part of the secret.
  const value = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (value === '') throw new CannotRun('empty value on stdin');
  return value;
}

async function run(io: SecretsCliIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`argus secrets: ${message}\n`);
    return 2;
  }
}

/** `argus secrets put NAME`: stores (or rotates) a secret. Prints its name and version, never the value. */
export function runSecretsPut(name: string, opts: PutCliOptions, io: SecretsCliIo = processIo): Promise<number> {
  return run(io, async () => {
    const value = await readValue(opts, io);
    const store = await openStore(opts, io.env);
    try {
      const meta = await store.put(name, value, opts.description !== undefined ? { description: opts.description } : {});
      io.stdout.write(`stored ${meta.name} (version ${meta.version})\n`);
      return 0;
    } finally {
      await store.close();
    }
  });
}

/** `argus secrets list`: names and metadata only. */
export function runSecretsList(opts: ListCliOptions, io: SecretsCliIo = processIo): Promise<number> {
  return run(io, async () => {
    const store = await openStore(opts, io.env);
    try {
      const list = await store.list();
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(list)}\n`);
      } else if (list.length === 0) {
        io.stdout.write('no secrets\n');
      } else {
        const width = Math.max(4, ...list.map((m) => m.name.length));
        io.stdout.write(`${'NAME'.padEnd(width)}  VERSION  UPDATED                   DESCRIPTION\n`);
        for (const m of list)
          io.stdout.write(`${m.name.padEnd(width)}  ${String(m.version).padEnd(7)}  ${m.updatedAt.padEnd(24)}  ${m.description ?? ''}\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  });
}

/** `argus secrets rm NAME`: exit 1 when there was no such secret. */
export function runSecretsRm(name: string, opts: SecretsStoreOptions, io: SecretsCliIo = processIo): Promise<number> {
  return run(io, async () => {
    const store = await openStore(opts, io.env);
    try {
      if (await store.delete(name)) {
        io.stdout.write(`removed ${name}\n`);
        return 0;
      }
      io.stderr.write(`argus secrets: no secret \`${name}\`\n`);
      return 1;
    } finally {
      await store.close();
    }
  });
}

/** Registers `argus secrets put|list|rm` on `program`. */
export function registerSecretsCommands(program: Command, io: SecretsCliIo = processIo): void {
  const secrets = program.command('secrets').description('manage the encrypted upstream credentials (values never echoed)');
  const defaultDb = io.env.ARGUS_SECRETS_DB ?? '.argus/argus.db';
  const storeOptions = (cmd: Command): Command =>
    cmd
      .option('--db <path>', 'SQLite database holding the `secrets` table', defaultDb)
      .option('--key-env <VAR>', 'environment variable holding the 32-byte key (hex or base64)', 'ARGUS_SECRETS_KEY')
      .option('--key-file <file>', 'file holding the key, when the environment variable is unset');

  storeOptions(secrets.command('put <name>').description('store or rotate a secret; the value is read from stdin or --from-env'))
    .option('--from-env <VAR>', 'read the value from this environment variable instead of stdin')
    .option('--description <text>', 'what the secret is for')
    .action(async (name: string, opts: PutCliOptions) => {
      process.exitCode = await runSecretsPut(name, opts, io);
    });

  storeOptions(secrets.command('list').description('list secret names and metadata (never values)'))
    .option('--json', 'print JSON')
    .action(async (opts: ListCliOptions) => {
      process.exitCode = await runSecretsList(opts, io);
    });

  storeOptions(secrets.command('rm <name>').description('remove a secret')).action(async (name: string, opts: SecretsStoreOptions) => {
    process.exitCode = await runSecretsRm(name, opts, io);
  });
}
