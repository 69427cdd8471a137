/**
 * The retention period (`audit.retention.maxAge`): the SQLite sink deletes a writer's records older
 * than it, cut at a checkpoint the writer signed; the chain that is left verifies, and a record
 * deleted by anyone else is still missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from './chain.ts';
import { parseAuditConfig, type AuditConfigInput } from './config.ts';
import { openSqliteAuditStore } from './sinks/sqlite.ts';
import { writeTwoHoursOfAudit } from './testing/retention.ts';
import type { ChainedRecord } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'argus-audit-retention-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function stored(path: string): ChainedRecord[] {
  const store = openSqliteAuditStore({ path, readonly: true });
  const all = [...store.iterate(1, Number.MAX_SAFE_INTEGER)];
  void store.close();
  return all;
}

const twoHours = (name: string, retention: AuditConfigInput['retention'], segmentRecords?: number) =>
  writeTwoHoursOfAudit(join(root, name), retention, segmentRecords);

describe('audit retention', () => {
  it('deletes the records older than maxAge at a signed checkpoint; what is left verifies', async () => {
    const { db, publicKey } = await twoHours('kept-1h', { maxAge: '1h' });
    const records = stored(db);
    // The first hour's 40 decisions and 3 of its checkpoints are gone; its last checkpoint (44) is the anchor.
    expect(records[0]).toMatchObject({ seq: 44, kind: 'checkpoint' });
    expect(records.filter((r) => r.kind === 'decision')).toHaveLength(40);
    const cuts = records.flatMap((r) =>
      r.kind === 'checkpoint' && r.checkpoint.prunedBefore !== undefined ? [r.checkpoint.prunedBefore] : [],
    );
    expect(cuts.length).toBeGreaterThan(0);
    expect(new Set(cuts)).toEqual(new Set([44]));
    expect(verifyChain(records, publicKey)).toMatchObject({ ok: true, pruned: { w: 44 } });

    // A record past the cut deleted by someone else: missing.
    const raw = new Database(db);
    raw.prepare('DELETE FROM audit_records WHERE seq = 50').run();
    raw.close();
    expect(verifyChain(stored(db), publicKey).first).toMatchObject({ kind: 'missing', seq: 50 });
  });

  it('drops the filter index of the deleted records; queries answer from what is left', async () => {
    const { db } = await twoHours('segments', { maxAge: '1h' }, 10);
    const store = openSqliteAuditStore({ path: db, readonly: true });
    try {
      const page = await store.query({ outcome: 'allow' }, undefined, 500);
      expect(page.records).toHaveLength(40);
      expect(page.records.every((r) => r.kind === 'decision' && r.seq >= 44)).toBe(true);
      const raw = new Database(db, { readonly: true });
      const { min } = raw.prepare('SELECT min(rowid) AS min FROM audit_records').get() as { min: number };
      const stale = raw.prepare('SELECT count(*) AS n FROM audit_facet_segments WHERE last_rowid < ?').get(min) as { n: number };
      const segments = raw.prepare('SELECT count(*) AS n FROM audit_facet_segments').get() as { n: number };
      raw.close();
      expect(segments.n).toBeGreaterThan(0);
      // Only the newest segment may lie wholly before what is left (the index goes on from it).
      expect(stale.n).toBeLessThanOrEqual(1);
    } finally {
      await store.close();
    }
  });

  it('without a retention period keeps every record, and a deleted prefix is missing', async () => {
    const { db, publicKey } = await twoHours('kept-all', undefined);
    const records = stored(db);
    expect(records[0]).toMatchObject({ seq: 1 });
    expect(records.filter((r) => r.kind === 'decision')).toHaveLength(80);
    expect(records.some((r) => r.kind === 'checkpoint' && r.checkpoint.prunedBefore !== undefined)).toBe(false);
    expect(verifyChain(records, publicKey).ok).toBe(true);
    expect(verifyChain(records.slice(10), publicKey).first).toMatchObject({ kind: 'missing', seq: 1, toSeq: 10 });
  });

  it('is refused without signed checkpoints, naming the path', () => {
    expect(() => parseAuditConfig({ retention: { maxAge: '30d' }, signing: { enabled: false } })).toThrow(/retention\/maxAge/);
    expect(() => parseAuditConfig({ retention: { maxAge: '30 days' } })).toThrow(/retention\/maxAge/);
    expect(parseAuditConfig({ retention: { maxAge: '720h' } }).retention.maxAge).toBe('720h');
  });
});
