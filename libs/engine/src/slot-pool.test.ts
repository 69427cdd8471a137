import { describe, expect, it } from 'vitest';
import { SlotPool } from './slot-pool.ts';

describe('SlotPool', () => {
  it('reuses the least recently used slot once every slot is taken, a hit counting as a use', () => {
    const pool = new SlotPool('s-', 2);
    const prepared: Array<[string, string]> = [];
    const acquire = (key: string) => pool.acquire(key, (slot) => (prepared.push([key, slot]), true));
    expect(acquire('a')).toBe('s-0');
    expect(acquire('b')).toBe('s-1');
    expect(acquire('a')).toBe('s-0');
    expect(acquire('c')).toBe('s-1');
    expect(acquire('a')).toBe('s-0');
    expect(acquire('b')).toBe('s-1');
    expect(prepared).toEqual([
      ['a', 's-0'],
      ['b', 's-1'],
      ['c', 's-1'],
      ['b', 's-1'],
    ]);
    expect(pool.size).toBe(2);
  });

  it('gives a refused slot back and caches nothing for it', () => {
    const pool = new SlotPool('s-', 1);
    expect(pool.acquire('bad', () => false)).toBeUndefined();
    expect(pool.size).toBe(0);
    expect(pool.acquire('good', () => true)).toBe('s-0');
    expect(pool.acquire('good', () => false)).toBe('s-0');
  });
});
