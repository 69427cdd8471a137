/**
 * The exit codes of every `argus` command, as documented in docs/cli.md and the help (0 ok; 1 the
 * command ran and the answer is "no"; 2 nothing could run), checked on the real binary
 * (`bin/argus.mjs`, the built JavaScript) as a script or CI job sees them. Also: messages that name
 * an unreachable server's address and URL, and colour only when asked for.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditTrail, makeDecisionEvent, openSqliteAuditStore } from '@argus/audit';

const BIN = fileURLToPath(new URL('../bin/argus.mjs', import.meta.url));
const CEDAR = resolve(import.meta.dirname, '../../../cedar');
const work = mkdtempSync(join(tmpdir(), 'argus-exit-'));
const SECRETS_KEY = 'a'.repeat(64);
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the binary in a scratch directory with a clean environment (no colour unless asked). */
function argus(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: work, NO_COLOR: '1', ARGUS_LOG_LEVEL: 'error' };
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', rej);
    child.once('close', (code) => res({ code, out, err }));
  });
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => res(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

let n = 0;
function copyCedar(): string {
  const dir = join(work, `cedar-${n++}`);
  cpSync(CEDAR, dir, { recursive: true });
  return dir;
}

let down: number;
beforeAll(async () => {
  down = await closedPort();
});

const T = 240_000;

describe('argus exit codes', () => {
  it(
    'usage: --help and --version 0; an unknown command or option 2',
    async () => {
      expect((await argus(['--help'])).code).toBe(0);
      expect((await argus(['--version'])).code).toBe(0);
      const bogus = await argus(['bogus']);
      expect(bogus.code).toBe(2);
      expect(bogus.err).toContain("unknown command 'bogus'");
      expect((await argus(['policy', 'validate', '--bogus'])).code).toBe(2);
    },
    T,
  );

  it(
    'serve: 2 when it cannot start (an unreadable configuration file)',
    async () => {
      const r = await argus(['serve', '-c', join(work, 'missing.yaml'), '--data-dir', join(work, 'serve-data')]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/missing\.yaml/);
    },
    T,
  );

  it(
    'policy validate: 0 valid, 1 invalid, 2 unreadable',
    async () => {
      expect((await argus(['policy', 'validate', CEDAR])).code).toBe(0);
      const bad = copyCedar();
      writeFileSync(join(bad, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { principal.nope };\n');
      expect((await argus(['policy', 'validate', bad])).code).toBe(1);
      expect((await argus(['policy', 'validate', join(work, 'nowhere')])).code).toBe(2);
    },
    T,
  );

  it(
    'policy fmt: 0 formatted, --check 1 when a file would change, 2 unreadable',
    async () => {
      const dir = copyCedar();
      const file = join(dir, 'policies', 'tools.cedar');
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n@id("messy")\nforbid(principal,action,resource)when{false};\n`);
      const check = await argus(['policy', 'fmt', '--check', dir]);
      expect(check.code).toBe(1);
      expect(check.out).toContain(`would reformat ${file}`);
      const write = await argus(['policy', 'fmt', dir]);
      expect(write.code).toBe(0);
      expect(write.out).toContain(`formatted ${file}`);
      expect((await argus(['policy', 'fmt', '--check', dir])).code).toBe(0);
      expect((await argus(['policy', 'fmt', join(work, 'nowhere')])).code).toBe(2);
    },
    T,
  );

  it(
    'policy test: 0 all pass, 1 a case fails, 2 an invalid set (nothing could run)',
    async () => {
      expect((await argus(['policy', 'test', CEDAR])).code).toBe(0);
      const failing = copyCedar();
      const suite = readdirFirstSuite(failing);
      writeFileSync(suite, readFileSync(suite, 'utf8').replace(/decision: deny/, 'decision: allow'));
      expect((await argus(['policy', 'test', failing])).code).toBe(1);
      const invalid = copyCedar();
      writeFileSync(join(invalid, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { principal.nope };\n');
      const r = await argus(['policy', 'test', invalid]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('the policy set is invalid: no test can run');
    },
    T,
  );

  it(
    'policy explain: 0 explained (a deny too), 2 a request that is not JSON',
    async () => {
      const request = join(work, 'request.json');
      writeFileSync(
        request,
        JSON.stringify({ input: { principal: { type: 'Agent', id: 'nobody' }, action: 'tool:call', resource: { type: 'Tool', id: 't' } } }),
      );
      const r = await argus(['policy', 'explain', request, '--policies', CEDAR]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('decision: deny');
      const notJson = join(work, 'not.json');
      writeFileSync(notJson, '{');
      expect((await argus(['policy', 'explain', notJson, '--policies', CEDAR])).code).toBe(2);
    },
    T,
  );

  it(
    'policy diff: 0 no flip, 1 flips with --fail-on-flip, 2 unreadable requests',
    async () => {
      const requests = join(work, 'requests.jsonl');
      const allowed = {
        principal: { type: 'Agent', id: 'support-bot' },
        action: 'tool:call',
        resource: { type: 'Tool', id: 'crm/lookup', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
        intent: 'lookup-order-status',
      };
      writeFileSync(requests, `${JSON.stringify(allowed)}\n`);
      const fixtures = join(CEDAR, 'tests', 'tools.yaml');
      expect((await argus(['policy', 'diff', CEDAR, CEDAR, '--requests', requests, '--fixtures', fixtures, '--fail-on-flip'])).code).toBe(
        0,
      );
      const frozen = copyCedar();
      writeFileSync(
        join(frozen, 'policies', 'freeze.cedar'),
        '@id("freeze-crm")\nforbid (principal, action == Argus::Action::"tool:call", resource in Argus::McpServer::"crm");\n',
      );
      expect((await argus(['policy', 'diff', CEDAR, frozen, '--requests', requests, '--fixtures', fixtures])).code).toBe(0);
      expect((await argus(['policy', 'diff', CEDAR, frozen, '--requests', requests, '--fixtures', fixtures, '--fail-on-flip'])).code).toBe(
        1,
      );
      expect((await argus(['policy', 'diff', CEDAR, CEDAR, '--requests', join(work, 'none.jsonl')])).code).toBe(2);
    },
    T,
  );

  it(
    'audit verify: 0 intact, 1 broken, 2 unreadable; audit export: 0, 2',
    async () => {
      const db = join(work, 'audit.db');
      const trail = await createAuditTrail(
        { writerId: 'exit-codes', spill: { dir: join(work, 'spill') }, sinks: [{ type: 'sqlite', path: db }] },
        { sinks: [openSqliteAuditStore({ path: db })] },
      );
      for (let i = 0; i < 5; i++) await trail.record(makeDecisionEvent('allow', i));
      await trail.close();
      expect((await argus(['audit', 'verify', '--db', db])).code).toBe(0);
      expect((await argus(['audit', 'export', '--db', db])).code).toBe(0);
      const raw = new Database(db);
      raw.prepare(`UPDATE audit_records SET record = json_set(record, '$.outcome', 'deny') WHERE seq = 3`).run();
      raw.close();
      const broken = await argus(['audit', 'verify', '--db', db]);
      expect(broken.code).toBe(1);
      expect(broken.out).toMatch(/^broken: /);
      expect((await argus(['audit', 'verify', '--db', join(work, 'none', 'audit.db')])).code).toBe(2);
      expect((await argus(['audit', 'export', '--db', join(work, 'none', 'audit.db')])).code).toBe(2);
    },
    T,
  );

  it(
    'audit tail, delegations list, goals list, switches list: 2 when the server is unreachable, naming its address and URL',
    async () => {
      const url = `http://127.0.0.1:${down}`;
      const tail = await argus(['audit', 'tail', '--no-reconnect', '--url', url]);
      expect(tail.code).toBe(2);
      expect(tail.err).toBe(`argus audit tail: ECONNREFUSED 127.0.0.1:${down} — is argus serve running? (${url}/v1/decisions/stream)\n`);
      for (const group of ['delegations', 'goals', 'switches']) {
        const r = await argus([group, 'list', '--url', url, '--token', 'some-token-0123456789']);
        expect(r.code).toBe(2);
        expect(r.err).toContain(`ECONNREFUSED 127.0.0.1:${down} — is argus serve running?`);
        expect(r.err).toContain(url);
      }
    },
    T,
  );

  it(
    'switches: 2 without --reason, a bad scope, or `stop all` without --yes (nothing is sent; 0 and 1 against a server: commands/switches.test.ts)',
    async () => {
      const url = `http://127.0.0.1:${down}`;
      expect((await argus(['switches', 'stop', 'agent', 'bot', '--url', url])).code).toBe(2);
      const scope = await argus(['switches', 'stop', 'colour', 'x', '--reason', 'r', '--url', url]);
      expect(scope.code).toBe(2);
      expect(scope.err).toContain('the scope must be one of all, agent, tool, server');
      const all = await argus(['switches', 'stop', 'all', '--reason', 'incident', '--url', url]);
      expect(all.code).toBe(2);
      expect(all.err).toContain('confirm with --yes');
    },
    T,
  );

  it(
    'secrets: put 0, list 0, rm 1 when absent, 2 without a key',
    async () => {
      const db = join(work, 'secrets.db');
      const env = { ARGUS_SECRETS_KEY: SECRETS_KEY, UPSTREAM: 'sk-test-value' };
      expect((await argus(['secrets', 'put', 'openai', '--from-env', 'UPSTREAM', '--db', db], env)).code).toBe(0);
      const list = await argus(['secrets', 'list', '--json', '--db', db], env);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ name: 'openai' })]);
      expect(list.out).not.toContain('sk-test-value');
      expect((await argus(['secrets', 'rm', 'nothing-here', '--db', db], env)).code).toBe(1);
      expect((await argus(['secrets', 'list', '--db', db])).code).toBe(2);
    },
    T,
  );

  it(
    'discover run: 0 a dry run, 2 a bad option (an unreachable registry: discover.test.ts)',
    async () => {
      expect((await argus(['discover', 'run', `127.0.0.1:${down}`, '--dry-run', '--json'])).code).toBe(0);
      expect((await argus(['discover', 'run', '127.0.0.1:1', '--kind', 'nope', '--dry-run'])).code).toBe(2);
    },
    T,
  );

  it(
    'config check: 0 valid, 1 invalid, 2 unreadable',
    async () => {
      const good = join(work, 'good.json');
      writeFileSync(good, JSON.stringify({ server: { port: 8181 } }));
      expect((await argus(['config', 'check', good])).code).toBe(0);
      const bad = join(work, 'bad.json');
      writeFileSync(bad, JSON.stringify({ server: { port: 'eighty' } }));
      const r = await argus(['config', 'check', bad]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('/server/port');
      expect((await argus(['config', 'check', join(work, 'missing.json')])).code).toBe(2);
    },
    T,
  );
});

describe('argus colour', () => {
  it(
    'is off when piped, on with FORCE_COLOR, off again with --no-color or NO_COLOR',
    async () => {
      const plain = await argus(['policy', 'validate', CEDAR], { NO_COLOR: '' });
      expect(plain.out).not.toContain('\u001b[');
      const forced = await argus(['policy', 'validate', CEDAR], { NO_COLOR: '', FORCE_COLOR: '1' });
      expect(forced.out).toContain('\u001b[32m');
      const flag = await argus(['policy', 'validate', CEDAR, '--no-color'], { NO_COLOR: '', FORCE_COLOR: '1' });
      expect(flag.out).not.toContain('\u001b[');
      const noColor = await argus(['policy', 'validate', CEDAR], { NO_COLOR: '1' });
      expect(noColor.out).not.toContain('\u001b[');
      const help = await argus(['--help'], { NO_COLOR: '', FORCE_COLOR: '1' });
      expect(help.out).toContain('\u001b[1mUsage:');
    },
    T,
  );
});

function readdirFirstSuite(dir: string): string {
  const tests = join(dir, 'tests');
  const files = readdirSync(tests)
    .sort()
    .filter((f) => /\.ya?ml$/.test(f) && readFileSync(join(tests, f), 'utf8').includes('decision: deny'));
  return join(tests, files[0]!);
}
