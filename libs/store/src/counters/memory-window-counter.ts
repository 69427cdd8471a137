import { InvalidInputError } from '@argus/platform';
import type { WindowCounter, WindowHit, WindowHits, WindowSpec } from './ports.ts';

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

/** In-process sliding windows (exact: one timestamp per hit), for the embedded mode. */
export class MemoryWindowCounter implements WindowCounter {
  private readonly hits = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(options: MemoryWindowCounterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  private trimmed(id: string, windowMs: number, now: number): number[] {
    const list = this.hits.get(id) ?? [];
    let drop = 0;
    // INVARIANT: timestamps are appended in non-decreasing order, so expired ones are a prefix.
    while (drop < list.length && list[drop]! <= now - windowMs) drop++;
    if (drop > 0) list.splice(0, drop);
    return list;
  }

  hit(key: string, windowMs: number, options: { limit?: number } = {}): Promise<WindowHit> {
    return hitOne(this, key, windowMs, options);
  }

  async hitAll(specs: readonly WindowSpec[]): Promise<WindowHits> {
    for (const s of specs) checkWindow(s.windowMs, s.limit);
    const now = this.now();
    // INVARIANT: no await below, so the check and the record are one step for this process.
    const lists = specs.map((s) => this.trimmed(`${s.windowMs}:${s.key}`, s.windowMs, now));
    const refused = specs.flatMap((s, i) => (s.limit !== undefined && lists[i]!.length >= s.limit ? [i] : []));
    if (refused.length > 0) return { allowed: false, counts: lists.map((l) => l.length), refused };
    const counts = specs.map((s, i) => {
      const id = `${s.windowMs}:${s.key}`;
      const list = lists[i]!;
      list.push(Math.max(now, list[list.length - 1] ?? now));
      if (!this.hits.has(id)) {
        if (this.hits.size >= this.maxKeys) this.sweep(now);
        this.hits.set(id, list);
      }
      return list.length;
    });
    return { allowed: true, counts, refused: [] };
  }

  async count(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs);
    const id = `${windowMs}:${key}`;
    if (!this.hits.has(id)) return 0;
    return this.trimmed(id, windowMs, this.now()).length;
  }

  async countAll(specs: readonly Pick<WindowSpec, 'key' | 'windowMs'>[]): Promise<number[]> {
    return Promise.all(specs.map((s) => this.count(s.key, s.windowMs)));
  }

  /** Drops counters with no hit left in their window; if still full, the oldest half. */
  private sweep(now: number): void {
    for (const [id, list] of this.hits) {
      const windowMs = Number(id.slice(0, id.indexOf(':')));
      if ((list[list.length - 1] ?? 0) <= now - windowMs) this.hits.delete(id);
    }
    if (this.hits.size >= this.maxKeys) {
      let n = Math.ceil(this.hits.size / 2);
      for (const id of this.hits.keys()) {
        if (n-- <= 0) break;
        this.hits.delete(id);
      }
    }
  }
}
