import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpenList, type OpenEntry } from './open-list.ts';

describe('OpenList', () => {
  it('keeps insertion order, removes any entry once and clears its links', () => {
    const list = new OpenList<string>();
    const a = list.add('a');
    const b = list.add('b');
    const c = list.add('c');
    expect([...list]).toEqual(['a', 'b', 'c']);
    expect(list.remove(b)).toBe(true);
    expect(list.remove(b)).toBe(false);
    expect(b).toEqual({ value: undefined, prev: undefined, next: undefined });
    expect([...list]).toEqual(['a', 'c']);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(c)).toBe(true);
    expect([...list]).toEqual([]);
    expect(list.size).toBe(0);
    list.add('d');
    expect([...list]).toEqual(['d']);
  });

  it('iterates over a snapshot: removing the current or the next entry on the way visits every entry open at the start', () => {
    const list = new OpenList<number>();
    const entries = [1, 2, 3, 4, 5].map((n) => list.add(n));
    const seen: number[] = [];
    for (const n of list) {
      seen.push(n);
      list.remove(entries[n - 1]!);
      if (n < 5) list.remove(entries[n]!);
      list.add(10 + n);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect([...list]).toEqual([11, 12, 13, 14, 15]);
  });

  it('agrees with a plain array under random adds and removes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(40)), { maxLength: 200 }), (ops) => {
        const list = new OpenList<number>();
        const model: Array<{ n: number; entry: OpenEntry<number> }> = [];
        let next = 0;
        for (const op of ops) {
          if (op === -1 || model.length === 0) {
            const n = next++;
            model.push({ n, entry: list.add(n) });
          } else {
            const [gone] = model.splice(op % model.length, 1);
            expect(list.remove(gone!.entry)).toBe(true);
          }
          expect(list.size).toBe(model.length);
        }
        expect([...list]).toEqual(model.map((m) => m.n));
      }),
    );
  });
});
