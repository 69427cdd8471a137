/**
 * Contract suites every `BudgetCounter` and `WindowCounter` adapter must pass. Each factory gets a
 * fresh, isolated namespace (a random key prefix for Redis).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@argus/platform';
import type { BudgetCounter, WindowCounter } from './ports.ts';

/** Builds a fresh budget counter and the function that cleans up after it. */
export type BudgetCounterFactory = () => Promise<{ counter: BudgetCounter; close: () => Promise<void> }>;

/**
 * Builds a fresh window counter; `advance` moves its clock (real sleep for Redis); `entries` is how
 * many entries the adapter keeps for a counter (memory runs, SQLite rows, Redis hash fields).
 */
export type WindowCounterFactory = () => Promise<{
  counter: WindowCounter;
  advance: (ms: number) => Promise<void>;
  entries: (key: string, windowMs: number) => Promise<number>;
  close: () => Promise<void>;
}>;

/** The shared `BudgetCounter` contract. */
export function budgetCounterContract(adapter: string, factory: BudgetCounterFactory): void {
  describe(`BudgetCounter contract (${adapter})`, () => {
    let counter: BudgetCounter;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ counter, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    it('starts at zero', async () => {
      expect(await counter.get('g')).toEqual({ actions: 0, tokens: 0, costUsd: 0 });
    });

    it('consumes until the last unit, then refuses without consuming', async () => {
      const limits = { maxActions: 3 };
      for (let i = 1; i <= 3; i++) {
        const r = await counter.consume('g', { actions: 1 }, limits);
        expect(r).toMatchObject({ ok: true, used: { actions: i }, remaining: { actions: 3 - i }, exceeded: [] });
      }
      expect(await counter.consume('g', { actions: 1 }, limits)).toMatchObject({
        ok: false,
        used: { actions: 3 },
        remaining: { actions: 0 },
        exceeded: ['actions'],
      });
      expect((await counter.get('g')).actions).toBe(3);
    });

    it('all or nothing across dimensions', async () => {
      const limits = { maxActions: 10, maxTokens: 100, maxCostUsd: 1 };
      expect((await counter.consume('g', { actions: 1, tokens: 60, costUsd: 0.5 }, limits)).ok).toBe(true);
      const r = await counter.consume('g', { actions: 1, tokens: 50, costUsd: 0.1 }, limits);
      expect(r).toMatchObject({ ok: false, exceeded: ['tokens'] });
      expect(await counter.get('g')).toEqual({ actions: 1, tokens: 60, costUsd: 0.5 });
    });

    it('reported usage counts, and an exhausted dimension refuses even a zero request', async () => {
      expect(await counter.report('g', { tokens: 120, costUsd: 0.25 })).toEqual({ actions: 0, tokens: 120, costUsd: 0.25 });
      const r = await counter.consume('g', { actions: 1 }, { maxActions: 5, maxTokens: 100 });
      expect(r).toMatchObject({ ok: false, exceeded: ['tokens'], remaining: { actions: 5, tokens: 0 } });
      expect((await counter.consume('g', { actions: 1 }, { maxActions: 5 })).ok).toBe(true);
    });

    it('keeps cost exact in micro-dollars', async () => {
      for (let i = 0; i < 10; i++) await counter.report('g', { costUsd: 0.1 });
      expect((await counter.get('g')).costUsd).toBe(1);
      expect(await counter.consume('g', { costUsd: 0.000001 }, { maxCostUsd: 1 })).toMatchObject({ ok: false, exceeded: ['costUsd'] });
    });

    it('a zero limit refuses everything; unlimited dimensions never refuse', async () => {
      expect((await counter.consume('g', {}, { maxActions: 0 })).ok).toBe(false);
      expect((await counter.consume('g', { tokens: 1e9 }, {})).ok).toBe(true);
    });

    it('goals are independent and reset forgets', async () => {
      await counter.report('a', { actions: 2 });
      expect((await counter.get('b')).actions).toBe(0);
      await counter.reset('a');
      expect((await counter.get('a')).actions).toBe(0);
    });

    it('rejects negative or non-finite amounts', async () => {
      await expect(counter.consume('g', { actions: -1 }, {})).rejects.toBeInstanceOf(InvalidInputError);
      await expect(counter.report('g', { costUsd: Number.NaN })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('concurrent consumers in one process never overspend', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => counter.consume('g', { actions: 1 }, { maxActions: 20 })));
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      expect((await counter.get('g')).actions).toBe(20);
    });
  });
}

/** The shared `WindowCounter` contract (windows are short: Redis runs on real time). */
export function windowCounterContract(adapter: string, factory: WindowCounterFactory): void {
  describe(`WindowCounter contract (${adapter})`, () => {
    let counter: WindowCounter;
    let advance: (ms: number) => Promise<void>;
    let entries: (key: string, windowMs: number) => Promise<number>;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ counter, advance, entries, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    it('counts hits within the window and forgets them after it', async () => {
      expect(await counter.count('k', 300)).toBe(0);
      expect(await counter.hit('k', 300)).toEqual({ allowed: true, count: 1 });
      expect(await counter.hit('k', 300)).toEqual({ allowed: true, count: 2 });
      expect(await counter.count('k', 300)).toBe(2);
      await advance(350);
      expect(await counter.count('k', 300)).toBe(0);
      expect(await counter.hit('k', 300)).toEqual({ allowed: true, count: 1 });
    });

    it('keeps a counter of a window over a minute in at most 101 entries however many hits it holds', async () => {
      // A 2-minute window has slices of 1.2 s: a hit in each of 300 milliseconds would be 300
      // entries kept to the millisecond, and is one or two slices.
      let last = { allowed: false, count: 0 };
      for (let step = 0; step < 300; step++) {
        last = await counter.hit('busy', 120_000);
        await advance(1);
      }
      expect(last).toEqual({ allowed: true, count: 300 });
      const held = await entries('busy', 120_000);
      // One or two slices here (a real clock's 300 steps may cross a slice's end); the bound is 101.
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(101);
      // A window up to a minute (a minute itself included) is kept to the millisecond.
      for (let step = 0; step < 3; step++) {
        await counter.hit('exact', 60_000);
        await advance(1);
      }
      expect(await entries('exact', 60_000)).toBe(3);
      // Every hit of the window is counted, and leaves it on time. (A second: a loaded machine's
      // real clock can spend a short window's length on five calls to Redis.)
      for (let i = 0; i < 5; i++) await counter.hit('fresh', 1_000);
      expect(await counter.count('fresh', 1_000)).toBe(5);
      await advance(1_010);
      expect(await counter.count('fresh', 1_000)).toBe(0);
    });

    it('with a limit, refuses and does not record past it', async () => {
      for (let i = 1; i <= 3; i++) expect(await counter.hit('q', 10_000, { limit: 3 })).toEqual({ allowed: true, count: i });
      expect(await counter.hit('q', 10_000, { limit: 3 })).toEqual({ allowed: false, count: 3 });
      expect(await counter.count('q', 10_000)).toBe(3);
    });

    it('the same key over two windows is two counters', async () => {
      await counter.hit('k', 10_000);
      expect(await counter.count('k', 20_000)).toBe(0);
      expect(await counter.count('k', 10_000)).toBe(1);
    });

    it('concurrent hits with a limit admit exactly the limit', async () => {
      const r = await Promise.all(Array.from({ length: 30 }, () => counter.hit('c', 10_000, { limit: 10 })));
      expect(r.filter((x) => x.allowed)).toHaveLength(10);
    });

    it('hitAll is all or nothing: a counter at its limit refuses the hit on every counter', async () => {
      const specs = [
        { key: 'user', windowMs: 10_000, limit: 5 },
        { key: 'goal', windowMs: 20_000, limit: 2 },
        { key: 'plain', windowMs: 10_000 },
      ];
      expect(await counter.hitAll(specs)).toEqual({ allowed: true, counts: [1, 1, 1], refused: [] });
      expect(await counter.hitAll(specs)).toEqual({ allowed: true, counts: [2, 2, 2], refused: [] });
      expect(await counter.hitAll(specs)).toEqual({ allowed: false, counts: [2, 2, 2], refused: [1] });
      expect(await counter.countAll(specs)).toEqual([2, 2, 2]);
      expect(await counter.hitAll([specs[0]!, specs[2]!])).toEqual({ allowed: true, counts: [3, 3], refused: [] });
      expect(await counter.hitAll([])).toEqual({ allowed: true, counts: [], refused: [] });
    });

    it('concurrent multi-counter hits admit exactly the tightest limit on every counter', async () => {
      const specs = [
        { key: 'a', windowMs: 10_000, limit: 12 },
        { key: 'b', windowMs: 10_000, limit: 7 },
      ];
      const r = await Promise.all(Array.from({ length: 25 }, () => counter.hitAll(specs)));
      expect(r.filter((x) => x.allowed)).toHaveLength(7);
      expect(await counter.countAll(specs)).toEqual([7, 7]);
    });

    it('a limit of zero refuses every hit', async () => {
      expect(await counter.hit('z', 10_000, { limit: 0 })).toEqual({ allowed: false, count: 0 });
      expect(await counter.count('z', 10_000)).toBe(0);
    });

    it('rejects a bad window or limit', async () => {
      await expect(counter.hit('k', 0)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(counter.hit('k', 1.5)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(counter.hit('k', 100, { limit: -1 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        counter.hitAll([
          { key: 'k', windowMs: 100 },
          { key: 'j', windowMs: -5 },
        ]),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(counter.countAll([{ key: 'k', windowMs: 0 }])).rejects.toBeInstanceOf(InvalidInputError);
    });
  });
}
