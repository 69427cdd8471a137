/**
 * The sliding-window counters against a model: random runs of hits (one to three counters, with
 * and without limits, the same counter twice in one hit), counts, and clock steps (forward, still,
 * backwards) give the same answers from each adapter as from a plain list of hit times.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../sqlite/open.ts';
import { SqliteWindowCounter } from '../sqlite/window-counter.ts';
import { MemoryWindowCounter } from './memory-window-counter.ts';
import { sliceOf, type WindowCounter, type WindowHits, type WindowSpec } from './ports.ts';

/**
 * The rule, stated directly: a counter is its hits' times, each kept at the last millisecond of its
 * slice of a hundredth of the window (`sliceOf`); a hit counts while that time is after `now - windowMs`.
 */
class Model {
  private readonly hits = new Map<string, number[]>();

  private live(id: string, windowMs: number, now: number): number[] {
    const list = (this.hits.get(id) ?? []).filter((t) => t > now - windowMs);
    this.hits.set(id, list);
    return list;
  }

  hitAll(specs: readonly WindowSpec[], now: number): WindowHits {
    const counts = specs.map((s) => this.live(`${s.windowMs}:${s.key}`, s.windowMs, now).length);
    const refused = specs.flatMap((s, i) => (s.limit !== undefined && counts[i]! >= s.limit ? [i] : []));
    if (refused.length > 0) return { allowed: false, counts, refused };
    return {
      allowed: true,
      counts: specs.map((s) => {
        const list = this.hits.get(`${s.windowMs}:${s.key}`)!;
        // Times never decrease: a hit after the clock went back takes the newest time.
        const at = sliceOf(now, s.windowMs);
        list.push(Math.max(at, list[list.length - 1] ?? at));
        return list.length;
      }),
      refused: [],
    };
  }

  count(key: string, windowMs: number, now: number): number {
    return this.live(`${windowMs}:${key}`, windowMs, now).length;
  }
}

type Op = { op: 'step'; ms: number } | { op: 'hit'; specs: WindowSpec[] } | { op: 'count'; key: string; windowMs: number };

/** Up to a minute, windows are exact; past it (120 s: slices of 1.2 s), by slices. */
const WINDOWS = [50, 400, 3_000, 120_000];
const spec = fc.record(
  {
    key: fc.constantFrom('a', 'b'),
    windowMs: fc.constantFrom(...WINDOWS),
    limit: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  },
  { requiredKeys: ['key', 'windowMs'] },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('step' as const),
      ms: fc.oneof(fc.constant(0), fc.integer({ min: -20, max: 500 }), fc.integer({ min: 1_000, max: 130_000 })),
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('hit' as const), specs: fc.array(spec, { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('count' as const), key: fc.constantFrom('a', 'b'), windowMs: fc.constantFrom(...WINDOWS) }),
  },
);

const adapters: Array<[string, (now: () => number) => { counter: WindowCounter; close: () => void }]> = [
  ['memory', (now) => ({ counter: new MemoryWindowCounter({ now }), close: () => {} })],
  [
    'sqlite',
    (now) => {
      const { db } = openSqlite(':memory:');
      return { counter: new SqliteWindowCounter(db, { now, sweepEvery: 7 }), close: () => db.close() };
    },
  ],
];

describe.each(adapters)('%s window counter against the model', (_name, open) => {
  it('answers every hit and count as the model does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
        let now = 1_000_000;
        const model = new Model();
        const { counter, close } = open(() => now);
        try {
          for (const o of ops) {
            if (o.op === 'step') now += o.ms;
            else if (o.op === 'hit') expect(await counter.hitAll(o.specs)).toEqual(model.hitAll(o.specs, now));
            else expect(await counter.count(o.key, o.windowMs)).toBe(model.count(o.key, o.windowMs, now));
          }
        } finally {
          close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps exact counts through many windows of hits, several in each millisecond', async () => {
    let now = 5_000_000;
    const model = new Model();
    const { counter, close } = open(() => now);
    try {
      for (let i = 0; i < 20_000; i++) {
        if (i % 3 === 0) now += 1;
        const specs = [
          { key: 'hot', windowMs: 1_000 },
          { key: 'hot', windowMs: 2_500, limit: 6_000 },
          { key: 'hot', windowMs: 90_000 },
        ];
        expect(await counter.hitAll(specs)).toEqual(model.hitAll(specs, now));
      }
      now += 1_200;
      expect(await counter.count('hot', 1_000)).toBe(model.count('hot', 1_000, now));
      expect(await counter.count('hot', 2_500)).toBe(model.count('hot', 2_500, now));
    } finally {
      close();
    }
  });
});

describe('MemoryWindowCounter at its bound on counters', () => {
  it('keeps the hit of a counter whose emptied log a sweep for a new counter dropped in the same call', async () => {
    let now = 1_000;
    const counter = new MemoryWindowCounter({ now: () => now, maxKeys: 2 });
    await counter.hitAll([{ key: 'a', windowMs: 100 }]);
    await counter.hitAll([{ key: 'b', windowMs: 100 }]);
    now += 500; // a and b are empty now: the sweep for c drops them, a's log included
    expect(
      await counter.hitAll([
        { key: 'c', windowMs: 100 },
        { key: 'a', windowMs: 100 },
      ]),
    ).toEqual({
      allowed: true,
      counts: [1, 1],
      refused: [],
    });
    expect(await counter.hitAll([{ key: 'a', windowMs: 100 }])).toEqual({ allowed: true, counts: [2], refused: [] });
  });
});
