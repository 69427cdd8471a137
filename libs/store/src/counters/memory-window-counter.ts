import { InvalidInputError } from '@argus/platform';
import { sliceOf, type WindowCounter, type WindowHit, type WindowHits, type WindowSpec } from './ports.ts';

/** Options of `MemoryWindowCounter`. */
export interface MemoryWindowCounterOptions {
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Bound on distinct counters kept; idle ones are swept first. Default 100,000. */
  maxKeys?: number;
}

/** Rejects a window or limit that is not a positive integer (resp. non-negative). */
export function checkWindow(windowMs: number, limit?: number): void {
  if (!Number.isInteger(windowMs) || windowMs <= 0)
    throw new InvalidInputError('window must be a positive integer of milliseconds', [
      { path: '/windowMs', message: 'must be a positive integer' },
    ]);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw new InvalidInputError('limit must be a non-negative integer', [{ path: '/limit', message: 'must be a non-negative integer' }]);
}

/** The id of a counter: `(key, windowMs)` identifies it, in every adapter. */
export function counterId(spec: Pick<WindowSpec, 'key' | 'windowMs'>): string {
  return `${spec.windowMs}:${spec.key}`;
}

/** `hit` in terms of `hitAll`: one counter's hit, answered with its count. Every adapter's `hit` is this. */
export async function hitOne(
  counter: Pick<WindowCounter, 'hitAll'>,
  key: string,
  windowMs: number,
  options: { limit?: number },
): Promise<WindowHit> {
  const r = await counter.hitAll([{ key, windowMs, ...(options.limit !== undefined ? { limit: options.limit } : {}) }]);
  return { allowed: r.allowed, count: r.counts[0]! };
}

/**
 * One counter's hits in its window, oldest first, as runs: `times[i]` (ms, non-decreasing: the
 * slice each hit is kept at, {@link sliceOf}) holds `counts[i]` hits. Expired runs are skipped by
 * advancing `head` and compacted away once they are half the arrays, so trimming costs O(1)
 * amortized, and hits in the same slice take one entry (at most 101 live ones past a minute, one per
 * millisecond of the window up to it).
 */
class HitLog {
  times: number[] = [];
  counts: number[] = [];
  head = 0;
  /** Hits in `times[head..]`. */
  total = 0;

  /** Forgets the hits at or before `cutoff`. */
  trim(cutoff: number): void {
    const times = this.times;
    let h = this.head;
    while (h < times.length && times[h]! <= cutoff) this.total -= this.counts[h++]!;
    if (h === times.length) {
      this.times = [];
      this.counts = [];
      this.head = 0;
    } else if (h >= 64 && h * 2 >= times.length) {
      this.times = times.slice(h);
      this.counts = this.counts.slice(h);
      this.head = 0;
    } else this.head = h;
  }

  /** Records a hit kept at `at` (its slice), or at the last hit's if that is later (times never decrease). */
  add(at: number): void {
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last]! >= at) this.counts[last]!++;
    else {
      this.times.push(at);
      this.counts.push(1);
    }
    this.total++;
  }

  /** Time of the newest hit kept, if any. */
  newest(): number | undefined {
    return this.times.length > this.head ? this.times[this.times.length - 1] : undefined;
  }
}

/**
 * In-process sliding windows by slices of a hundredth of the window ({@link sliceOf}): memory per
 * counter is bounded (hits in the same slice share one entry) and a hit costs O(1) amortized.
 */
export class MemoryWindowCounter implements WindowCounter {
  private readonly logs = new Map<string, HitLog>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(options: MemoryWindowCounterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** The log of `(windowMs, key)` trimmed to the window ending `now`; `undefined` if there is none. */
  private trimmed(id: string, windowMs: number, now: number): HitLog | undefined {
    const log = this.logs.get(id);
    log?.trim(now - windowMs);
    return log;
  }

  hit(key: string, windowMs: number, options: { limit?: number } = {}): Promise<WindowHit> {
    return hitOne(this, key, windowMs, options);
  }

  async hitAll(specs: readonly WindowSpec[]): Promise<WindowHits> {
    for (const s of specs) checkWindow(s.windowMs, s.limit);
    const now = this.now();
    // INVARIANT: no await below, so the check and the record are one step for this process.
    const ids = specs.map(counterId);
    const logs = specs.map((s, i) => this.trimmed(ids[i]!, s.windowMs, now));
    const counts = logs.map((l) => l?.total ?? 0);
    const refused = specs.flatMap((s, i) => (s.limit !== undefined && counts[i]! >= s.limit ? [i] : []));
    if (refused.length > 0) return { allowed: false, counts, refused };
    for (let i = 0; i < specs.length; i++) {
      // Looked up again: two specs may name one counter (the second finds the log the first
      // created), and a sweep for a new counter may have dropped an emptied log of this call.
      let log = this.logs.get(ids[i]!);
      if (!log) {
        if (this.logs.size >= this.maxKeys) this.sweep(now);
        this.logs.set(ids[i]!, (log = logs[i] ?? new HitLog()));
      }
      log.add(sliceOf(now, specs[i]!.windowMs));
      counts[i] = log.total;
    }
    return { allowed: true, counts, refused: [] };
  }

  /** How many entries the counter `(key, windowMs)` keeps (live ones, see `sliceSize`; expired ones until trimmed). */
  entries(key: string, windowMs: number): number {
    const log = this.logs.get(counterId({ key, windowMs }));
    return log ? log.times.length - log.head : 0;
  }

  async count(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs);
    return this.trimmed(counterId({ key, windowMs }), windowMs, this.now())?.total ?? 0;
  }

  async countAll(specs: readonly Pick<WindowSpec, 'key' | 'windowMs'>[]): Promise<number[]> {
    return Promise.all(specs.map((s) => this.count(s.key, s.windowMs)));
  }

  /** Drops counters with no hit left in their window; if still full, the oldest half. */
  private sweep(now: number): void {
    for (const [id, log] of this.logs) {
      const windowMs = Number(id.slice(0, id.indexOf(':')));
      if ((log.newest() ?? 0) <= now - windowMs) this.logs.delete(id);
    }
    if (this.logs.size >= this.maxKeys) {
      let n = Math.ceil(this.logs.size / 2);
      for (const id of this.logs.keys()) {
        if (n-- <= 0) break;
        this.logs.delete(id);
      }
    }
  }
}
