import { describe, expect, it } from 'vitest';
import { describeQueryStoreContract, sampleChain } from '../testing/query-store-contract.ts';
import { createMemoryAuditStore } from './memory.ts';

describeQueryStoreContract('memory', async () => createMemoryAuditStore());

describe('memory audit store', () => {
  it('keeps what was written, whatever the caller does with its objects afterwards', async () => {
    const store = createMemoryAuditStore();
    const records = sampleChain(2).map((r) => structuredClone(r));
    await store.write(records);
    (records[0] as { seq: number }).seq = 99;
    expect((await store.range(1, 2)).map((r) => r.seq)).toEqual([1, 2]);
    const got = await store.get('dec-allow-0');
    (got as { action: string }).action = 'edited';
    expect((await store.get('dec-allow-0'))?.action).toBe('tool:call');
  });

  it('refuses to be used once closed', async () => {
    const store = createMemoryAuditStore();
    await store.close();
    await expect(store.write(sampleChain(1))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(store.query({}, undefined, 10)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
