/**
 * A quota hit on a busy counter: what one allowed decision pays to check and record its sliding
 * window when the window already holds FILL hits, side by side in one run:
 *   floor   — one integer per counter (a fixed window: no sliding, the least any counter can do)
 *   memory  — MemoryWindowCounter (the built-in calls_last_minute|hour of `argus serve`)
 *   sqlite  — SqliteWindowCounter on a file (named quotas of `argus serve`), with a limit
 * Each case fills one counter of a one-hour window with FILL hits at RATE per millisecond, then
 * measures HITS more at the same rate, so every hit also expires the oldest ones: the steady
 * state of an agent calling at that rate for an hour. Median of REPS alternating repetitions; the
 * heap the memory counter holds and its entries (one per slice of the window) are printed beside.
 * Run: `npx tsx bench/store/window-counter.ts` (FILL=1000,100000,1000000 RATE=1 HITS=20000 REPS=3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryWindowCounter, openSqlite, SqliteWindowCounter, type WindowCounter } from '@argus/store';

const HOUR = 3_600_000;
const FILLS = (process.env.FILL ?? '1000,100000,1000000').split(',').map(Number);
const RATE = Number(process.env.RATE ?? 1);
const HITS = Number(process.env.HITS ?? 20_000);
const REPS = Number(process.env.REPS ?? 3);

/** A counter whose window ends at `clock.now`, filled so the first measured hit expires the oldest. */
interface Case {
  hit: () => Promise<unknown>;
  close: () => void;
  entries?: () => number;
}

class FixedWindow {
  private readonly counts = new Map<string, { start: number; n: number }>();
  constructor(private readonly now: () => number) {}
  hit(key: string): number {
    const t = this.now();
    let c = this.counts.get(key);
    if (!c || c.start <= t - HOUR) this.counts.set(key, (c = { start: t, n: 0 }));
    return ++c.n;
  }
}

async function fill(clock: { t: number }, hits: number, hit: () => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < hits; i++) {
    clock.t = Math.floor(i / RATE);
    await hit();
  }
  // Measured hits start one window after the first: each one expires what its window no longer holds.
  clock.t = HOUR;
}

const dir = mkdtempSync(join(tmpdir(), 'argus-bench-window-'));
const makers: Record<string, (clock: { t: number }, fillN: number) => Promise<Case>> = {
  floor: async (clock, n) => {
    const c = new FixedWindow(() => clock.t);
    await fill(clock, n, () => c.hit('agent-1'));
    return { hit: async () => c.hit('agent-1'), close: () => {} };
  },
  memory: async (clock, n) => {
    const c = new MemoryWindowCounter({ now: () => clock.t });
    const spec = [{ key: 'agent-1', windowMs: HOUR }];
    await fill(clock, n, () => c.hitAll(spec));
    return { hit: () => c.hitAll(spec), close: () => {}, entries: () => c.entries('agent-1', HOUR) };
  },
  sqlite: async (clock, n) => {
    const s = openSqlite(join(dir, `w-${n}-${Math.random().toString(36).slice(2)}.db`));
    const c: WindowCounter = new SqliteWindowCounter(s.db, { now: () => clock.t });
    const spec = [{ key: 'agent-1', windowMs: HOUR, limit: 10_000_000 }];
    await fill(clock, n, () => c.hitAll(spec));
    return { hit: () => c.hitAll(spec), close: () => s.db.close() };
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `window counter hits, one counter of a 1 h window, ${RATE} hit(s) per ms, median of ${REPS} reps (${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
);
console.log('| hits in the window | floor | memory | sqlite | memory: heap held, entries |');
console.log('|---|---|---|---|---|');
for (const n of FILLS) {
  const results: Record<string, number[]> = {};
  let heapHeld = 0;
  let entries = 0;
  for (let rep = 0; rep < REPS; rep++) {
    for (const [name, make] of Object.entries(makers)) {
      if (name === 'sqlite' && n > 100_000 && rep > 0) continue; // filling a file with 1M hits takes a while; one rep
      const clock = { t: 0 };
      globalThis.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      const c = await make(clock, n);
      if (name === 'memory') {
        globalThis.gc?.();
        heapHeld = process.memoryUsage().heapUsed - heap0;
        entries = c.entries?.() ?? 0;
      }
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < HITS; i++) {
        clock.t = HOUR + Math.floor(i / RATE);
        await c.hit();
      }
      (results[name] ??= []).push(Number(process.hrtime.bigint() - t0) / HITS / 1_000);
      c.close();
    }
  }
  const cell = (name: string) => `${median(results[name]!).toFixed(2)} µs`;
  console.log(
    `| ${n.toLocaleString('en')} | ${cell('floor')} | ${cell('memory')} | ${cell('sqlite')} | ${(heapHeld / 2 ** 10).toFixed(1)} KiB${globalThis.gc ? '' : ' (run with --expose-gc for a clean figure)'}, ${entries} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
