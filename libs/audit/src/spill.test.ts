import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, silentLogger } from '@argus/platform';
import { afterAll, describe, expect, it } from 'vitest';
import type { PendingRecord } from './buffer.ts';
import { DropCounter } from './drops.ts';
import { auditMetrics } from './metrics.ts';
import { Spill, SpillFile } from './spill.ts';
import { sampleChain } from './testing/query-store-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'argus-audit-spill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function spillOf(maxBytes: number) {
  const path = join(root, `s${n++}`, 'w1.spill.jsonl');
  const metrics = auditMetrics(new Registry());
  const drops = new DropCounter(silentLogger(), metrics.dropped);
  return { spill: new Spill(new SpillFile(path), maxBytes, { logger: silentLogger(), metrics, drops }), drops, path };
}

/** Records with a strict caller each; `settled` tells how each ended. */
function strictItems(count: number) {
  const settled: string[] = [];
  const items: PendingRecord[] = sampleChain(count).map((rec) => ({
    rec,
    done: { resolve: () => settled.push(`ok:${rec.seq}`), reject: (e) => settled.push(`${(e as { code?: string }).code}:${rec.seq}`) },
  }));
  return { items, settled };
}

describe('spill', () => {
  it('appends in order, answers strict callers once fsynced, replays and leaves once everything was replayed', async () => {
    const { spill, path } = spillOf(1 << 20);
    expect(await spill.open()).toBeUndefined();
    expect(spill.active).toBe(false);
    spill.start();
    const { items, settled } = strictItems(3);
    spill.add(items.slice(1));
    spill.addFirst(items.slice(0, 1));
    expect(spill.backlogBytes()).toBe(SpillFile.sizeOf(items.map((i) => i.rec)));
    await spill.appendPending();
    expect(settled).toEqual(['ok:1', 'ok:2', 'ok:3']);
    expect(spill.spilled).toBe(3);
    expect(
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq),
    ).toEqual([1, 2, 3]);
    const { records, next } = await spill.peek(2);
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    spill.replayedUpTo(next, records.length);
    expect(spill.replayedAll).toBe(false);
    const rest = await spill.peek(10);
    spill.replayedUpTo(rest.next, rest.records.length);
    expect(spill).toMatchObject({ replayedAll: true, replayed: 3 });
    expect(await spill.finish()).toBe(true);
    expect(spill.active).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('');
    await spill.close();
  });

  it('stays in the spill when records arrived while the file was emptied', async () => {
    const { spill } = spillOf(1 << 20);
    await spill.open();
    spill.start();
    spill.add(strictItems(1).items);
    expect(await spill.finish()).toBe(false);
    expect(spill.active).toBe(true);
    await spill.close();
  });

  it('keeps what fits the disk budget, in order, and drops the rest, telling strict callers', async () => {
    const { items, settled } = strictItems(4);
    const two = SpillFile.sizeOf(items.slice(0, 2).map((i) => i.rec));
    const { spill, drops, path } = spillOf(two + 10);
    await spill.open();
    spill.start();
    spill.add(items);
    await spill.appendPending();
    expect(settled).toEqual(['unavailable:3', 'unavailable:4', 'ok:1', 'ok:2']);
    expect(drops.snapshot()).toEqual({ spill_full: 2 });
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
    await spill.close();
  });

  it('drops the batch when the file cannot be written, telling strict callers', async () => {
    const { spill, drops } = spillOf(1 << 20);
    await spill.open();
    await spill.close();
    const { items, settled } = strictItems(2);
    spill.add(items);
    await spill.appendPending();
    expect(settled).toEqual(['unavailable:1', 'unavailable:2']);
    expect(drops.snapshot()).toEqual({ spill_failed: 2 });
    expect(spill.spilled).toBe(0);
  });

  it('resumes from a file left by a crash: the torn last line is cut, the last whole record returned, the replay pending', async () => {
    const { spill, path } = spillOf(1 << 20);
    await spill.open();
    spill.start();
    spill.add(strictItems(2).items);
    await spill.appendPending();
    await spill.close();
    appendFileSync(path, '{"kind":"decision","seq":3,"wri');
    const again = new Spill(new SpillFile(path), 1 << 20, {
      logger: silentLogger(),
      metrics: auditMetrics(new Registry()),
      drops: new DropCounter(silentLogger(), auditMetrics(new Registry()).dropped),
    });
    expect(await again.open()).toMatchObject({ seq: 2 });
    expect(again.active).toBe(true);
    expect((await again.peek(10)).records.map((r) => r.seq)).toEqual([1, 2]);
    await again.close();
  });
});
