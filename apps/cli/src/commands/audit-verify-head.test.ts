import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditVerify, type AuditCliIo } from './audit.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-cli-verify-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): AuditCliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, out: () => out, err: () => err };
}

describe('argus audit verify with the defaults of the writer (signed checkpoints, key and head beside the data)', () => {
  it('verifies signatures with the generated key, and fails a truncated tail', async () => {
    // Loaded as the command loads it (lazily), which the module-boundary rule asks of this app.
    const { createAuditTrail, makeDecisionEvent } = await import('@argus/audit');
    const db = join(dir, 'audit.db');
    // The defaults, as argus serve runs them: audit thread, group commit, a key generated in the data dir.
    const trail = await createAuditTrail({
      writerId: 'cli-head',
      spill: { dir: join(dir, 'audit-spill') },
      signing: { everyRecords: 10 },
      sinks: [{ type: 'sqlite', path: db }],
    });
    for (let i = 0; i < 35; i++) await trail.record(makeDecisionEvent('allow', i));
    await trail.close();

    const ok = io();
    expect(await runAuditVerify({ db }, ok)).toBe(0);
    expect(ok.out()).toMatch(/^ok: 39 record\(s\) from 1 writer\(s\) verified; 4 checkpoint signature\(s\) verified/);

    // Delete the last records (the final checkpoint among them): what is left is a valid chain on its own.
    const raw = new Database(db);
    raw.prepare('DELETE FROM audit_records WHERE seq > 30').run();
    raw.close();
    const cut = io();
    expect(await runAuditVerify({ db }, cut)).toBe(1);
    expect(cut.out()).toMatch(/^broken: truncated: the chain of `cli-head` ends at record 30, but checkpoint 39 was signed/);
    // Without the head file the cut would go unnoticed: the head is what catches it.
    const blind = io();
    expect(await runAuditVerify({ db, head: join(dir, 'missing-head.json') }, blind)).toBe(2);
    expect(await runAuditVerify({ db, to: '30' }, io())).toBe(0);
  }, 60_000);
});
