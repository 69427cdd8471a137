import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createMetricsRegistry } from '@argus/platform';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { verifyChain } from './chain.ts';
import type { AuditConfigInput } from './config.ts';
import { openSqliteAuditStore } from './sinks/sqlite.ts';
import { makeDecisionEvent } from './testing/events.ts';
import type { ChainedRecord } from './types.ts';
import { Outbox } from './worker-trail.ts';
import { createAuditTrail } from './writer.ts';

const root = mkdtempSync(join(tmpdir(), 'argus-audit-worker-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const workdir = () => join(root, `t${n++}`);

function stored(path: string): ChainedRecord[] {
  const store = openSqliteAuditStore({ path, readonly: true });
  const all = [...store.iterate(1, Number.MAX_SAFE_INTEGER)];
  void store.close();
  return all;
}

function config(dir: string, over: AuditConfigInput = {}): AuditConfigInput {
  return { writerId: 'wk', spill: { dir: join(dir, 'spill') }, sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }], ...over };
}

describe('audit trail on its own thread (the default)', () => {
  it('runs the chain and the sinks on the audit thread; group commit acknowledges only durable records', async () => {
    const dir = workdir();
    const metrics = createMetricsRegistry();
    const trail = await createAuditTrail(config(dir), { metrics });
    expect(trail.stats()).toMatchObject({ thread: 'worker', durability: 'process' });
    const db = new Database(join(dir, 'audit.db'), { readonly: true });
    const has = db.prepare('SELECT count(*) AS c FROM audit_records WHERE decision_id = ?');
    // Concurrent callers, like an HTTP server's: each acknowledged record is already in the file.
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const id = `d-${c}-${i}`;
          await trail.record(makeDecisionEvent('allow', i, { decisionId: id }));
          expect((has.get(id) as { c: number }).c).toBe(1);
        }
      }),
    );
    db.close();
    await trail.close();
    const records = stored(join(dir, 'audit.db'));
    expect(records.filter((r) => r.kind === 'decision')).toHaveLength(200);
    expect(verifyChain(records).ok).toBe(true);
    const s = trail.stats();
    expect(s).toMatchObject({ recorded: 200, dropped: 0, queued: 0 });
    const text = await metrics.metrics();
    expect(text).toMatch(/argus_audit_written_total\{sink="sqlite"\} 20\d/);
    expect(text).toMatch(/argus_audit_checkpoints_total [1-9]/);
    // Eight concurrent callers share commits: fewer transactions than records, at least one.
    const sink = s.sinks.find((k) => k.name === 'sqlite')!;
    expect(sink.batches).toBeGreaterThan(0);
    expect(sink.batches).toBeLessThan(sink.written);
    expect(text).toContain(`argus_audit_batches_total{sink="sqlite"} ${sink.batches}`);
  });

  it('group commit with more callers waiting than the ring first holds: each settles once its record is durable', async () => {
    const dir = workdir();
    const trail = await createAuditTrail(config(dir), {});
    const db = new Database(join(dir, 'audit.db'), { readonly: true });
    const has = db.prepare('SELECT count(*) AS c FROM audit_records WHERE decision_id = ?');
    // 1,500 at once, well past the first 256 slots of the waiting ring (it grows while they wait).
    const ids = Array.from({ length: 1500 }, (_, i) => `many-${i}`);
    await Promise.all(
      ids.map(async (id, i) => {
        await trail.record(makeDecisionEvent('allow', i, { decisionId: id }));
        expect((has.get(id) as { c: number }).c).toBe(1);
      }),
    );
    db.close();
    await trail.close();
    const records = stored(join(dir, 'audit.db'));
    expect(records.filter((r) => r.kind === 'decision').map((r) => (r.kind === 'decision' ? r.decision_id : ''))).toEqual(ids);
    expect(verifyChain(records).ok).toBe(true);
    expect(trail.stats()).toMatchObject({ recorded: 1500, dropped: 0, queued: 0 });
  });

  it('records no caller waits for (answered) are written too: strict callers still get durability, close takes the rest', async () => {
    const dir = workdir();
    const trail = await createAuditTrail(config(dir));
    const db = new Database(join(dir, 'audit.db'), { readonly: true });
    const has = db.prepare('SELECT count(*) AS c FROM audit_records WHERE decision_id = ?');
    await trail.record(makeDecisionEvent('allow', 0, { decisionId: 'late-0' }), { answered: true });
    expect((has.get('late-0') as { c: number }).c).toBe(1);
    db.close();
    const pending = Array.from({ length: 49 }, (_, i) =>
      trail.record(makeDecisionEvent('allow', i + 1, { decisionId: `late-${i + 1}` }), { answered: true }),
    );
    await trail.close();
    await Promise.all(pending);
    const records = stored(join(dir, 'audit.db'));
    expect(records.filter((r) => r.kind === 'decision').map((r) => (r as unknown as { decision_id: string }).decision_id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `late-${i}`),
    );
    expect(verifyChain(records).ok).toBe(true);
  });

  it('hands records over as answered when no caller waits: async mode, or a strict caller that says so', async () => {
    const add = vi.spyOn(Outbox.prototype, 'add');
    try {
      for (const [durability, options, answered] of [
        ['process', undefined, false],
        ['process', { answered: true }, true],
        ['async', undefined, true],
      ] as const) {
        const trail = await createAuditTrail(config(workdir(), { durability, signing: { enabled: false } }));
        add.mockClear();
        await trail.record(makeDecisionEvent('allow', 0), options);
        expect(add.mock.calls.map((c) => c[2])).toEqual([answered]);
        await trail.close();
      }
    } finally {
      add.mockRestore();
    }
  });

  it('async mode through the thread: record returns at once, flush makes everything durable', async () => {
    const dir = workdir();
    const trail = await createAuditTrail(
      config(dir, { durability: 'async', buffer: { flushIntervalMs: 60_000, batchSize: 10_000 }, signing: { enabled: false } }),
    );
    for (let i = 0; i < 300; i++) await trail.record(makeDecisionEvent('deny', i));
    expect(stored(join(dir, 'audit.db'))).toHaveLength(0);
    await trail.flush();
    expect(stored(join(dir, 'audit.db'))).toHaveLength(300);
    expect(trail.stats()).toMatchObject({ recorded: 300, written: 300, queued: 0 });
    await trail.close();
  });

  it('counts and exposes drops (onFull: drop) and rejects strict callers after close', async () => {
    const dir = workdir();
    const metrics = createMetricsRegistry();
    const trail = await createAuditTrail(
      config(dir, { durability: 'async', buffer: { maxRecords: 10, batchSize: 10, onFull: 'drop' }, signing: { enabled: false } }),
      { metrics },
    );
    // 50 in one turn: the thread has answered none yet, so 40 are over the bound.
    for (let i = 0; i < 50; i++) void trail.record(makeDecisionEvent('allow', i));
    await trail.flush();
    expect(trail.stats()).toMatchObject({ dropped: 40, droppedBy: { buffer_full: 40 }, written: 10 });
    expect(await metrics.metrics()).toMatch(/argus_audit_dropped_total\{reason="buffer_full"\} 40/);
    await trail.close();
    const strict = await createAuditTrail(config(workdir()));
    await strict.close();
    await expect(strict.record(makeDecisionEvent('allow', 1))).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('fails closed when the audit thread dies: strict callers are refused, async records are counted as dropped', async () => {
    const strict = await createAuditTrail(config(workdir(), { signing: { enabled: false } }));
    await strict.record(makeDecisionEvent('allow', 0));
    await (strict as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(strict.record(makeDecisionEvent('allow', 1))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(strict.flush()).rejects.toMatchObject({ code: 'unavailable' });
    await strict.close();

    const metrics = createMetricsRegistry();
    const loose = await createAuditTrail(config(workdir(), { durability: 'async', signing: { enabled: false } }), { metrics });
    await (loose as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await loose.record(makeDecisionEvent('allow', 2));
    expect(loose.stats()).toMatchObject({ dropped: 1, droppedBy: { thread_failed: 1 } });
    expect(await metrics.metrics()).toMatch(/argus_audit_dropped_total\{reason="thread_failed"\} 1/);
    await loose.close();
  });

  it('feeds live subscribers from the thread and keeps the JSONL sink working', async () => {
    const dir = workdir();
    const trail = await createAuditTrail({
      writerId: 'wk-jsonl',
      spill: { dir: join(dir, 'spill') },
      signing: { enabled: false },
      sinks: [{ type: 'jsonl', path: join(dir, 'audit.jsonl') }],
    });
    const seen: string[] = [];
    const off = trail.subscribe((r) => void (r.kind === 'decision' && seen.push(r.decision_id)));
    await trail.record(makeDecisionEvent('allow', 0));
    await trail.record(makeDecisionEvent('deny', 1));
    await trail.flush();
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    off();
    expect(seen).toEqual(['dec-allow-0', 'dec-deny-1']);
    await trail.close();
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ChainedRecord);
    expect(lines.map((r) => r.seq)).toEqual([1, 2]);
    expect(verifyChain(lines).ok).toBe(true);
  });

  it('signs checkpoints by default with a key generated in the data dir; a cut tail fails verification', async () => {
    const dir = workdir();
    const trail = await createAuditTrail(config(dir, { signing: { everyRecords: 20 } }));
    for (let i = 0; i < 50; i++) await trail.record(makeDecisionEvent('allow', i));
    await trail.close();
    const keyFile = join(dir, 'audit-key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${keyFile}.pub`)).toBe(true);
    const head = JSON.parse(readFileSync(join(dir, 'audit-head.json'), 'utf8')) as ChainedRecord;
    expect(head.kind).toBe('checkpoint');
    const pub = readFileSync(`${keyFile}.pub`, 'utf8');
    const records = stored(join(dir, 'audit.db'));
    expect(head.seq).toBe(records[records.length - 1]!.seq);
    const good = verifyChain(records, pub, { head });
    expect(good).toMatchObject({ ok: true, checkpointsVerified: 3 });

    // Cut the tail: the chain that is left is intact on its own, but the head file says more existed.
    const db = new Database(join(dir, 'audit.db'));
    db.prepare('DELETE FROM audit_records WHERE seq > ?').run(head.seq - 5);
    db.close();
    const cut = stored(join(dir, 'audit.db'));
    expect(verifyChain(cut, pub).ok).toBe(true);
    const v = verifyChain(cut, pub, { head });
    expect(v.ok).toBe(false);
    expect(v.first).toMatchObject({ kind: 'truncated' });

    // A restart reuses the key (same signer) and keeps the chain going.
    const again = await createAuditTrail(config(workdir(), { signing: { privateKeyFile: keyFile } }));
    await again.record(makeDecisionEvent('allow', 1));
    await again.close();
    expect(readFileSync(keyFile, 'utf8')).toContain('PRIVATE KEY');
  });
});
