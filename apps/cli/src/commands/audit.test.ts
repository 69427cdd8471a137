import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  createAuditTrail,
  makeDecisionEvent,
  matchesFilters,
  openSqliteAuditStore,
  SECRET_CANARY,
  writeTwoHoursOfAudit,
  type AuditRecord,
  type AuditTrail,
} from '@argus/audit';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAuditDb, registerAuditCommands, runAuditExport, runAuditTail, runAuditVerify, type AuditCliIo } from './audit.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-cli-audit-'));
const db = join(dir, 'audit.db');
const keys = generateKeyPairSync('ed25519');
const publicKeyFile = join(dir, 'audit.pub.pem');
let n = 0;

function io(): AuditCliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, out: () => out, err: () => err };
}

/** A copy of the pristine database to tamper with. */
function copy(): string {
  const path = join(dir, `copy-${n++}.db`);
  copyFileSync(db, path);
  return path;
}

beforeAll(async () => {
  writeFileSync(publicKeyFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const trail = await createAuditTrail(
    {
      writerId: 'cli-test',
      spill: { dir: join(dir, 'spill') },
      signing: { privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), everyRecords: 10, everyMs: 60_000 },
      sinks: [{ type: 'sqlite', path: db }],
    },
    { sinks: [openSqliteAuditStore({ path: db })] },
  );
  for (let i = 0; i < 30; i++) await trail.record(makeDecisionEvent(i % 3 === 0 ? 'deny' : 'allow', i));
  await trail.close();
  // Fold the WAL into the main file so copies are complete.
  const raw = new Database(db);
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('argus audit verify', () => {
  it('exits 0 on an intact chain, with signatures checked', async () => {
    const out = io();
    expect(await runAuditVerify({ db, publicKey: publicKeyFile }, out)).toBe(0);
    expect(out.out()).toMatch(/^ok: 33 record\(s\) from 1 writer\(s\) verified; 3 checkpoint signature\(s\) verified/);
  });

  it('exits 0 on a chain cut by the retention period, saying so; a record gone past the cut is missing', async () => {
    const { db: retained, publicKey } = await writeTwoHoursOfAudit(join(dir, 'retained'), { maxAge: '1h' });
    const keyFile = join(dir, 'retained.pub.pem');
    writeFileSync(keyFile, publicKey);
    const out = io();
    expect(await runAuditVerify({ db: retained, publicKey: keyFile }, out)).toBe(0);
    expect(out.out()).toMatch(
      /^ok: \d+ record\(s\) from 1 writer\(s\) verified; \d+ checkpoint signature\(s\) verified; records of `w` below 44 deleted by the retention period \(signed\)/,
    );
    const raw = new Database(retained);
    raw.prepare('DELETE FROM audit_records WHERE seq = 45').run();
    raw.close();
    const broken = io();
    expect(await runAuditVerify({ db: retained, publicKey: keyFile }, broken)).toBe(1);
    expect(broken.out()).toMatch(/^broken: missing: record 45 of `w` is missing/);
  });

  it('exits 1 naming an edited record', async () => {
    const path = copy();
    const raw = new Database(path);
    raw.prepare(`UPDATE audit_records SET record = json_set(record, '$.outcome', 'deny') WHERE seq = 5`).run();
    raw.close();
    const out = io();
    expect(await runAuditVerify({ db: path }, out)).toBe(1);
    expect(out.out()).toMatch(/^broken: edited: record 5 of `cli-test` does not match its hash \(decision `dec-/);
  });

  it('exits 1 naming a row whose query columns were edited while its record was not', async () => {
    // The hash covers the record text; queries filter on the columns: such a row hides the decision.
    const path = copy();
    const raw = new Database(path);
    raw.prepare(`UPDATE audit_records SET outcome = 'allow', principal_id = 'x' WHERE seq = 4`).run();
    raw.close();
    const out = io();
    expect(await runAuditVerify({ db: path }, out)).toBe(1);
    expect(out.out()).toMatch(
      /^broken: column_mismatch: column `principal_id` of record 4 of `cli-test` holds `x`, the record `planner` \(decision `dec-deny-3`\)/,
    );
    const json = io();
    expect(await runAuditVerify({ db: path, json: true }, json)).toBe(1);
    expect(JSON.parse(json.out())).toMatchObject({ ok: false, first: { kind: 'column_mismatch', seq: 4, column: 'principal_id' } });
  });

  it('exits 1 naming a deleted record', async () => {
    const path = copy();
    const raw = new Database(path);
    raw.prepare('DELETE FROM audit_records WHERE seq = 7').run();
    raw.close();
    const out = io();
    expect(await runAuditVerify({ db: path }, out)).toBe(1);
    expect(out.out()).toMatch(/^broken: missing: record 7 of `cli-test` is missing/);
  });

  it('exits 1 naming a reordered record', async () => {
    const path = copy();
    const raw = new Database(path);
    const row = raw.prepare('SELECT * FROM audit_records WHERE seq = 4').get() as Record<string, unknown>;
    raw.prepare('DELETE FROM audit_records WHERE seq = 4').run();
    const cols = Object.keys(row);
    raw.prepare(`INSERT INTO audit_records (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`).run(...cols.map((c) => row[c]));
    raw.close();
    const out = io();
    expect(await runAuditVerify({ db: path }, out)).toBe(1);
    expect(out.out()).toMatch(/^broken: reordered: record 4 of `cli-test` is stored out of order/);
  });

  it('verifies a range, and reports a bad signature as broken', async () => {
    expect(await runAuditVerify({ db, from: '10', to: '20' }, io())).toBe(0);
    const other = join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const out = io();
    expect(await runAuditVerify({ db, publicKey: other }, out)).toBe(1);
    expect(out.out()).toContain('bad_signature');
  });

  it('exits 2 when it cannot run', async () => {
    const missing = io();
    expect(await runAuditVerify({ db: join(dir, 'nope.db') }, missing)).toBe(2);
    expect(missing.err()).toContain('cannot open audit database');
    expect(await runAuditVerify({ db, publicKey: join(dir, 'nope.pem') }, io())).toBe(2);
    writeFileSync(join(dir, 'junk.pem'), 'not a key');
    expect(await runAuditVerify({ db, publicKey: join(dir, 'junk.pem') }, io())).toBe(2);
    expect(await runAuditVerify({ db, from: 'x' }, io())).toBe(2);
  });

  it('reads the file argus serve writes by default, else the configuration default, unless ARGUS_AUDIT_DB says', () => {
    const home = mkdtempSync(join(tmpdir(), 'argus-audit-default-'));
    expect(defaultAuditDb({}, home)).toBe('.argus/argus.db');
    mkdirSync(join(home, '.argus'));
    writeFileSync(join(home, '.argus/audit.db'), '');
    expect(defaultAuditDb({}, home)).toBe('.argus/audit.db');
    expect(defaultAuditDb({ ARGUS_AUDIT_DB: '/var/lib/argus/audit.db' }, home)).toBe('/var/lib/argus/audit.db');
    // The data dir `argus serve` was given through ARGUS_DATA_DIR.
    mkdirSync(join(home, 'state'));
    writeFileSync(join(home, 'state/audit.db'), '');
    expect(defaultAuditDb({ ARGUS_DATA_DIR: 'state' }, home)).toBe('state/audit.db');
  });

  it('is wired into commander with the exit code', async () => {
    const program = new Command('argus').exitOverride();
    const out = io();
    registerAuditCommands(program, out);
    const before = process.exitCode;
    try {
      await program.parseAsync(['node', 'argus', 'audit', 'verify', '--db', db, '--public-key', publicKeyFile]);
      expect(process.exitCode).toBe(0);
      await program.parseAsync(['node', 'argus', 'audit', 'verify', '--db', join(dir, 'absent.db')]);
      expect(process.exitCode).toBe(2);
      // --data-dir: the audit.db of `argus serve --data-dir <dir>` (here `dir` holds audit.db).
      process.exitCode = undefined;
      await program.parseAsync(['node', 'argus', 'audit', 'verify', '--data-dir', dir, '--public-key', publicKeyFile]);
      expect(process.exitCode).toBe(0);
    } finally {
      process.exitCode = before;
    }
  });
});

describe('argus audit export', () => {
  it('stops quietly, exit 0, when the reader of its output goes away (`| head`)', async () => {
    const big = join(dir, 'big.db');
    const trail = await createAuditTrail(
      { writerId: 'cli-big', spill: { dir: join(dir, 'spill-big') }, sinks: [{ type: 'sqlite', path: big }] },
      { sinks: [openSqliteAuditStore({ path: big })] },
    );
    for (let i = 0; i < 400; i++) await trail.record(makeDecisionEvent('allow', i));
    await trail.close();
    const bin = fileURLToPath(new URL('../../bin/argus.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'audit', 'export', '--db', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read one chunk, then hang up, as `head -c` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|at .*\.ts/);
    expect(code).toBe(0);
  });

  it('writes the range as JSONL, value-free', async () => {
    const out = io();
    expect(await runAuditExport({ db, from: '1', to: '11' }, out)).toBe(0);
    const lines = out.out().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(JSON.parse(lines[10]!)).toMatchObject({ kind: 'checkpoint', seq: 11 });
    expect(out.out()).not.toContain(SECRET_CANARY);
    const file = join(dir, 'export.jsonl');
    expect(await runAuditExport({ db, out: file, checkpoints: false }, io())).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(30);
  });
});

describe('argus audit tail', () => {
  let trail: AuditTrail;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const path = join(dir, 'tail.db');
    const store = openSqliteAuditStore({ path });
    trail = await createAuditTrail(
      { writerId: 'tail', spill: { dir: join(dir, 'spill-tail') }, sinks: [{ type: 'sqlite', path }] },
      { sinks: [store] },
    );
    // A minimal stand-in for GET /v1/decisions/stream (the route has its own tests in libs/apdp).
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const outcome = q.get('decision');
      if (outcome !== null && !['allow', 'deny', 'needs_approval'].includes(outcome)) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 'invalid_parameter', message: 'invalid query parameter `decision`', errors: [] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': connected\n\n');
      const off = trail.subscribe((r) => {
        if (r.kind === 'decision' && matchesFilters(r as AuditRecord, outcome ? { outcome: outcome as AuditRecord['outcome'] } : {})) {
          res.write(`id: ${r.seq}\nevent: decision\ndata: ${JSON.stringify(r)}\n\n`);
        }
      });
      req.on('close', off);
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await trail.close();
  });

  it('follows live decisions matching the filter', async () => {
    const out = io();
    const tail = runAuditTail({ url, filter: ['decision=deny'], count: '2', reconnect: false }, out);
    await new Promise((r) => setTimeout(r, 150));
    for (let i = 0; i < 6; i++) await trail.record(makeDecisionEvent(i % 2 === 0 ? 'allow' : 'deny', i));
    expect(await tail).toBe(0);
    const got = out
      .out()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { decision_id: string }).decision_id);
    expect(got).toEqual(['dec-deny-1', 'dec-deny-3']);
  });

  it('exits 2 on a rejected filter or a bad --filter', async () => {
    const bad = io();
    expect(await runAuditTail({ url, filter: ['decision=maybe'], reconnect: false }, bad)).toBe(2);
    expect(bad.err()).toContain('`decision`');
    expect(await runAuditTail({ url, filter: ['nokey'], reconnect: false }, io())).toBe(2);
  });
});
