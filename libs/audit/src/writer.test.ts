import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { createLogger, createMetricsRegistry } from '@argus/platform';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from './chain.ts';
import type { AuditConfigInput } from './config.ts';
import { openSqliteAuditStore, type SqliteAuditStore } from './sinks/sqlite.ts';
import { makeDecisionEvent, SECRET_CANARY, type SampleKind } from './testing/events.ts';
import type { AuditSink, ChainedRecord } from './types.ts';
import { createAuditTrail } from './writer.ts';

const root = mkdtempSync(join(tmpdir(), 'argus-audit-writer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function workdir(): string {
  return join(root, `t${n++}`);
}

function config(dir: string, over: AuditConfigInput = {}): AuditConfigInput {
  return {
    writerId: 'test-w',
    buffer: { maxRecords: 1000, batchSize: 50, flushIntervalMs: 5, onFull: 'spill', ...over.buffer },
    spill: { dir: join(dir, 'spill'), ...over.spill },
    retry: { initialBackoffMs: 10, maxBackoffMs: 40, ...over.retry },
    record: {
      includePaths: ['/input/context'],
      mask: [{ path: '/input/context/token' }, { path: '/input/context/ssn', mode: 'hash' }],
      hashSalt: 'writer-test-salt-0001',
    },
    // These tests pin the async mode and opt into signing where they test it (both are on by default).
    durability: over.durability ?? 'async',
    signing: over.signing ?? { enabled: false },
    sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }],
  };
}

/** A real SQLite store that can be switched off (writes throw) and slowed down. */
class FlakySink implements AuditSink {
  readonly name = 'flaky';
  down = false;
  delayMs = 0;
  writes = 0;
  constructor(readonly store: SqliteAuditStore) {}
  async write(records: readonly ChainedRecord[]): Promise<void> {
    this.writes++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    await this.store.write(records);
  }
  head(writer: string) {
    return this.store.head(writer);
  }
  close() {
    return this.store.close();
  }
}

function logCapture(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => chunks.join('') };
}

async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const kinds: SampleKind[] = ['allow', 'deny', 'hard_deny', 'proxied'];
const event = (i: number) => makeDecisionEvent(kinds[i % 4], i);

function stored(path: string): ChainedRecord[] {
  const store = openSqliteAuditStore({ path, readonly: true });
  const all = [...store.iterate(1, Number.MAX_SAFE_INTEGER)];
  void store.close();
  return all;
}

describe('audit writer, async mode', () => {
  it('never makes record() wait on a slow sink, and writes everything in batches', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.delayMs = 2_000;
    const trail = await createAuditTrail(config(dir), { sinks: [sink] });
    const started = performance.now();
    const each: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await trail.record(event(i));
      each.push(performance.now() - t);
    }
    // Four batches on a 2 s sink would take 8 s if record() waited on it; the bound leaves room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(1_500);
    // No single call waits for the 2 s sink (a GC pause or a busy core can still cost tens of ms).
    expect(Math.max(...each.slice(1))).toBeLessThan(500);
    await trail.close();
    const records = stored(join(dir, 'audit.db'));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(verifyChain(records).ok).toBe(true);
    expect(sink.writes).toBeLessThan(20);
  });

  it('spills while the sink is down, replays in order on recovery, loses nothing, leaks no secret', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.down = true;
    const logs = logCapture();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const trail = await createAuditTrail(config(dir), { sinks: [sink], logger: logs.logger, metrics });
    const slowest: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await trail.record(event(i));
      slowest.push(performance.now() - t);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    // record() resolves although no write ever succeeds (it would never resolve if it waited on the sink).
    expect(Math.max(...slowest.slice(1))).toBeLessThan(1_000);
    await trail.flush();
    expect(trail.stats()).toMatchObject({ spilling: true, written: 0 });
    expect(trail.stats().spilled).toBe(300);
    const spillText = readFileSync(join(dir, 'spill', 'test-w.spill.jsonl'), 'utf8');
    expect(spillText.trim().split('\n')).toHaveLength(300);
    expect(spillText).not.toContain(SECRET_CANARY);

    sink.down = false;
    await until(() => trail.stats().written === 300 && !trail.stats().spilling);
    for (let i = 300; i < 320; i++) await trail.record(event(i));
    await trail.close();

    const records = stored(join(dir, 'audit.db'));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 320 }, (_, i) => i + 1));
    expect(verifyChain(records).ok).toBe(true);
    expect(JSON.stringify(records)).not.toContain(SECRET_CANARY);
    expect(logs.text()).not.toContain(SECRET_CANARY);
    expect(logs.text()).toContain('audit sink down; spilling to the local file');
    expect(logs.text()).toContain('audit sink recovered');
    const text = await metrics.metrics();
    expect(text).toMatch(/argus_audit_spilled_total 300/);
    expect(text).toMatch(/argus_audit_replayed_total 300/);
    expect(text).toMatch(/argus_audit_write_failures_total\{sink="flaky"\} [1-9]/);
    expect(readFileSync(join(dir, 'spill', 'test-w.spill.jsonl'), 'utf8')).toBe('');
  });

  it('spills on a really locked SQLite database and replays once the lock is gone', async () => {
    const dir = workdir();
    const path = join(dir, 'audit.db');
    const store = openSqliteAuditStore({ path, busyTimeoutMs: 0 });
    const locker = new Database(path);
    locker.exec('BEGIN EXCLUSIVE');
    const trail = await createAuditTrail(config(dir), { sinks: [store] });
    for (let i = 0; i < 60; i++) await trail.record(event(i));
    await until(() => trail.stats().spilled === 60);
    expect(trail.stats().written).toBe(0);
    locker.exec('ROLLBACK');
    locker.close();
    await until(() => trail.stats().written === 60);
    await trail.close();
    const records = stored(path);
    expect(records).toHaveLength(60);
    expect(verifyChain(records).ok).toBe(true);
  });

  it('spills when the buffer is full and keeps the order', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.delayMs = 30;
    const trail = await createAuditTrail(config(dir, { buffer: { maxRecords: 20, batchSize: 10 } }), { sinks: [sink] });
    for (let i = 0; i < 150; i++) await trail.record(event(i));
    expect(trail.stats().spilling).toBe(true);
    await trail.close();
    expect(trail.stats().spilled).toBeGreaterThan(0);
    expect(trail.stats().dropped).toBe(0);
    const records = stored(join(dir, 'audit.db'));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(verifyChain(records).ok).toBe(true);
  });

  it('drops only when configured to, counting and logging every drop', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.down = true;
    const logs = logCapture();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const trail = await createAuditTrail(config(dir, { buffer: { maxRecords: 5, batchSize: 5, onFull: 'drop' } }), {
      sinks: [sink],
      logger: logs.logger,
      metrics,
    });
    for (let i = 0; i < 5; i++) await trail.record(event(i));
    await until(() => sink.writes >= 1 && trail.stats().queued === 5);
    for (let i = 5; i < 20; i++) await trail.record(event(i));
    expect(trail.stats()).toMatchObject({ dropped: 15, queued: 5, spilling: false });
    expect(await metrics.metrics()).toMatch(/argus_audit_dropped_total\{reason="buffer_full"\} 15/);
    expect(logs.text()).toContain('audit record dropped');
    sink.down = false;
    await trail.close();
    expect(logs.text()).toMatch(/"dropped":14/);
    const records = stored(join(dir, 'audit.db'));
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(verifyChain(records).ok).toBe(true);
  });

  it('makes record() wait for room when configured to block', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.down = true;
    const trail = await createAuditTrail(config(dir, { buffer: { maxRecords: 5, batchSize: 5, onFull: 'block' } }), { sinks: [sink] });
    for (let i = 0; i < 5; i++) await trail.record(event(i));
    await until(() => sink.writes >= 1 && trail.stats().queued === 5);
    let sixth = false;
    const p = trail.record(event(5)).then(() => (sixth = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(sixth).toBe(false);
    sink.down = false;
    await p;
    await trail.close();
    expect(stored(join(dir, 'audit.db')).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('flushes everything on a graceful close', async () => {
    const dir = workdir();
    const trail = await createAuditTrail(config(dir, { buffer: { flushIntervalMs: 60_000, batchSize: 10_000 } }), {
      sinks: [openSqliteAuditStore({ path: join(dir, 'audit.db') })],
    });
    for (let i = 0; i < 77; i++) await trail.record(event(i));
    expect(trail.stats().written).toBe(0);
    await trail.close();
    expect(stored(join(dir, 'audit.db'))).toHaveLength(77);
    await trail.record(event(78));
    expect(trail.stats().dropped).toBe(1);
  });

  it('resumes the chain after a restart', async () => {
    const dir = workdir();
    const path = join(dir, 'audit.db');
    const first = await createAuditTrail(config(dir), { sinks: [openSqliteAuditStore({ path })] });
    for (let i = 0; i < 10; i++) await first.record(event(i));
    await first.close();
    const second = await createAuditTrail(config(dir), { sinks: [openSqliteAuditStore({ path })] });
    expect(second.stats().head.seq).toBe(10);
    for (let i = 10; i < 20; i++) await second.record(event(i));
    await second.close();
    const records = stored(path);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(verifyChain(records).ok).toBe(true);
  });

  it('replays a spill file left by a process that died with the sink down', async () => {
    const dir = workdir();
    const path = join(dir, 'audit.db');
    const deadSink = new FlakySink(openSqliteAuditStore({ path }));
    deadSink.down = true;
    const first = await createAuditTrail(config(dir, { retry: { initialBackoffMs: 600_000, maxBackoffMs: 600_000 } }), {
      sinks: [deadSink],
    });
    for (let i = 0; i < 25; i++) await first.record(event(i));
    await first.flush();
    expect(first.stats().spilled).toBe(25);
    // `first` is abandoned here, as if killed: no close, its records only in the spill file.
    const second = await createAuditTrail(config(dir), { sinks: [openSqliteAuditStore({ path })] });
    expect(second.stats().head.seq).toBe(25);
    for (let i = 25; i < 30; i++) await second.record(event(i));
    await second.close();
    const records = stored(path);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(verifyChain(records).ok).toBe(true);
  });

  it('signs checkpoints every N records and on close', async () => {
    const dir = workdir();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const trail = await createAuditTrail(config(dir, { signing: { privateKey: pem, everyRecords: 5, everyMs: 60_000 } }), {
      sinks: [openSqliteAuditStore({ path: join(dir, 'audit.db') })],
    });
    for (let i = 0; i < 12; i++) await trail.record(event(i));
    await trail.close();
    const records = stored(join(dir, 'audit.db'));
    expect(records.filter((r) => r.kind === 'checkpoint').map((r) => r.seq)).toEqual([6, 12, 15]);
    expect(verifyChain(records, publicKey)).toMatchObject({ ok: true, checkpointsVerified: 3 });
  });

  it('fans out to several sinks and feeds live subscribers', async () => {
    const dir = workdir();
    const a = openSqliteAuditStore({ path: join(dir, 'a.db') });
    const b = openSqliteAuditStore({ path: join(dir, 'b.db') });
    const trail = await createAuditTrail(config(dir), { sinks: [a, b] });
    const seen: string[] = [];
    const off = trail.subscribe((r) => seen.push(r.kind === 'decision' ? r.decision_id : 'checkpoint'));
    await trail.record(event(0));
    off();
    await trail.record(event(1));
    await trail.close();
    expect(seen).toEqual(['dec-allow-0']);
    expect(stored(join(dir, 'a.db'))).toEqual(stored(join(dir, 'b.db')));
    expect(stored(join(dir, 'a.db'))).toHaveLength(2);
  });
});

describe('audit writer, strict mode', () => {
  it('resolves record() only once the record is committed', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.delayMs = 20;
    const trail = await createAuditTrail(config(dir, { durability: 'strict' }), { sinks: [sink] });
    for (let i = 0; i < 5; i++) {
      await trail.record(event(i));
      expect(await sink.head('test-w')).toMatchObject({ seq: i + 1 });
    }
    await Promise.all(Array.from({ length: 40 }, (_, i) => trail.record(event(5 + i))));
    expect(await sink.head('test-w')).toMatchObject({ seq: 45 });
    expect(sink.writes).toBeLessThan(45);
    await trail.close();
  });

  it('resolves from the fsync’d spill file when the sink is down', async () => {
    const dir = workdir();
    const sink = new FlakySink(openSqliteAuditStore({ path: join(dir, 'audit.db') }));
    sink.down = true;
    const trail = await createAuditTrail(config(dir, { durability: 'strict' }), { sinks: [sink] });
    await trail.record(event(0));
    const spill = join(dir, 'spill', 'test-w.spill.jsonl');
    expect(existsSync(spill)).toBe(true);
    expect(readFileSync(spill, 'utf8')).toContain('dec-allow-0');
    sink.down = false;
    await trail.close();
    expect(stored(join(dir, 'audit.db'))).toHaveLength(1);
    await expect(trail.record(event(1))).rejects.toMatchObject({ code: 'unavailable' });
  });
});
