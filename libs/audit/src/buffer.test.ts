import { describe, expect, it } from 'vitest';
import { BackPressure, RecordBuffer, recordId, type PendingRecord } from './buffer.ts';
import { sampleChain } from './testing/query-store-contract.ts';

const items = (n: number): PendingRecord[] => sampleChain(n).map((rec) => ({ rec }));
const seqs = (xs: readonly PendingRecord[]) => xs.map((i) => i.rec.seq);

describe('record buffer', () => {
  it('hands out batches oldest first, takes a refused batch back in front, and knows its bound', () => {
    const buffer = new RecordBuffer({ maxRecords: 5, batchSize: 2 });
    for (const i of items(5)) buffer.push(i);
    expect(buffer).toMatchObject({ length: 5, full: true, hasBatch: true });
    expect(buffer.room()).toBe(0);
    const batch = buffer.takeBatch();
    expect(seqs(batch)).toEqual([1, 2]);
    expect(buffer.full).toBe(false);
    buffer.putBack(batch);
    expect(seqs(buffer.takeAll())).toEqual([1, 2, 3, 4, 5]);
    expect(buffer).toMatchObject({ length: 0, hasBatch: false });
  });

  it('names a record by its decision id, a checkpoint by its seq', () => {
    const [rec] = sampleChain(1);
    expect(recordId(rec!)).toBe('dec-allow-0');
    expect(recordId({ ...rec!, kind: 'checkpoint' } as never)).toBe('checkpoint:1');
  });
});

describe('back-pressure', () => {
  it('spill always accepts; drop refuses only at the bound', () => {
    expect(new BackPressure('spill').admit(true)).toBe('accept');
    expect(new BackPressure('drop').admit(false)).toBe('accept');
    expect(new BackPressure('drop').admit(true)).toBe('drop');
  });

  it('block holds callers at the bound, and later callers behind earlier ones, waking them in order as room frees', async () => {
    const gate = new BackPressure('block');
    expect(gate.admit(false)).toBe('accept');
    expect(gate.admit(true)).toBe('wait');
    const woken: number[] = [];
    const first = gate.wait().then(() => woken.push(1));
    // Room again, but a caller is still waiting: the newcomer queues behind it.
    expect(gate.admit(false)).toBe('wait');
    const second = gate.wait().then(() => woken.push(2));
    gate.wake(1);
    await first;
    expect(woken).toEqual([1]);
    gate.wake(0);
    await new Promise((r) => setImmediate(r));
    expect(woken).toEqual([1]);
    gate.wakeAll();
    await second;
    expect(woken).toEqual([1, 2]);
    expect(gate.admit(false)).toBe('accept');
  });
});
