import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { SqliteSecretStore } from '@argus/secrets';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerSecretsCommands, runSecretsList, runSecretsPut, runSecretsRm, type SecretsCliIo } from './secrets.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-cli-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = randomBytes(32);
const env = { ARGUS_SECRETS_KEY: key.toString('base64'), UPSTREAM_KEY: 'sk-from-env-CANARY-778899' };
let n = 0;

function io(stdin = '', tty = false): SecretsCliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const input = Object.assign(Readable.from(stdin ? [Buffer.from(stdin)] : []), { isTTY: tty });
  return { stdin: input, stdout, stderr, env, out: () => out, err: () => err };
}

function db(): string {
  return join(dir, `s${n++}`, 'argus.db');
}

describe('argus secrets', () => {
  it('puts from stdin without echoing, lists names only, removes', async () => {
    const path = db();
    const opts = { db: path, keyEnv: 'ARGUS_SECRETS_KEY' };
    const put = io('sk-stdin-CANARY-112233\n');
    expect(await runSecretsPut('openai-key', { ...opts, description: 'prod' }, put)).toBe(0);
    expect(put.out()).toBe('stored openai-key (version 1)\n');
    expect(put.out() + put.err()).not.toContain('CANARY');

    const stored = new SqliteSecretStore({ path, key });
    expect(await stored.get('openai-key')).toBe('sk-stdin-CANARY-112233');
    await stored.close();
    const bytes = Buffer.concat(readdirSync(join(path, '..')).map((f) => readFileSync(join(path, '..', f))));
    expect(bytes.includes(Buffer.from('sk-stdin-CANARY-112233'))).toBe(false);

    const list = io();
    expect(await runSecretsList({ ...opts, json: true }, list)).toBe(0);
    expect(JSON.parse(list.out())).toEqual([expect.objectContaining({ name: 'openai-key', version: 1, description: 'prod' })]);
    expect(list.out()).not.toContain('CANARY');

    const rm = io();
    expect(await runSecretsRm('openai-key', opts, rm)).toBe(0);
    const again = io();
    expect(await runSecretsRm('openai-key', opts, again)).toBe(1);
    expect(again.err()).toContain('no secret `openai-key`');
  });

  it('reads --from-env and rotates', async () => {
    const opts = { db: db(), keyEnv: 'ARGUS_SECRETS_KEY' };
    expect(await runSecretsPut('k', { ...opts, fromEnv: 'UPSTREAM_KEY' }, io())).toBe(0);
    const second = io();
    expect(await runSecretsPut('k', { ...opts, fromEnv: 'UPSTREAM_KEY' }, second)).toBe(0);
    expect(second.out()).toBe('stored k (version 2)\n');
    const table = io();
    await runSecretsList(opts, table);
    expect(table.out()).toMatch(/^NAME\s+VERSION/);
    expect(table.out()).not.toContain('CANARY');
  });

  it('refuses to run without a key, from a terminal, on empty input or a bad name (exit 2)', async () => {
    const opts = { db: db(), keyEnv: 'ARGUS_SECRETS_KEY' };
    const noKey = io('v');
    expect(await runSecretsPut('k', { ...opts, keyEnv: 'MISSING_KEY' }, noKey)).toBe(2);
    expect(noKey.err()).toContain('MISSING_KEY');
    const tty = io('', true);
    expect(await runSecretsPut('k', opts, tty)).toBe(2);
    expect(tty.err()).toContain('stdin');
    expect(await runSecretsPut('k', opts, io(''))).toBe(2);
    expect(await runSecretsPut('k', { ...opts, fromEnv: 'NOPE' }, io())).toBe(2);
    const bad = io('value');
    expect(await runSecretsPut('../x', opts, bad)).toBe(2);
    expect(bad.err()).toContain('invalid secret name');
  });

  it('wires the commands on a commander program', async () => {
    const path = db();
    const program = new Command('argus').exitOverride();
    const stream = io('sk-cli-CANARY-445566');
    registerSecretsCommands(program, stream);
    await program.parseAsync(['node', 'argus', 'secrets', 'put', 'cli-key', '--db', path]);
    expect(stream.out()).toBe('stored cli-key (version 1)\n');
    await program.parseAsync(['node', 'argus', 'secrets', 'list', '--db', path, '--json']);
    expect(stream.out()).toContain('"name":"cli-key"');
    expect(stream.out()).not.toContain('CANARY');
    process.exitCode = 0;
  });
});
