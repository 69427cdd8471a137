import type { Database, Statement } from 'better-sqlite3';
import { checkWindow, hitOne } from '../counters/memory-window-counter.ts';
import type { WindowCounter, WindowHit, WindowHits, WindowSpec } from '../counters/ports.ts';
import { orUnavailableSync } from '../unavailable.ts';

/** Options of {@link SqliteWindowCounter}. */
export interface SqliteWindowCounterOptions {
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Expired hits of every counter are deleted once per this many hits. Default 1,000. */
  sweepEvery?: number;
}

/**
 * Sliding-window counters in the SQLite file of the embedded mode (`window_hits`, store migration
 * 5), so quota counts survive a restart. One row per hit; a multi-counter hit runs in one
 * `BEGIN IMMEDIATE` transaction, so it is all or nothing and atomic across processes sharing the
 * file. The handle is owned by the caller (usually `Storage.sqlite`). SQLite errors become
 * `UnavailableError` (the decision then fails closed).
 */
export class SqliteWindowCounter implements WindowCounter {
  private readonly now: () => number;
  private readonly sweepEvery: number;
  private sinceSweep = 0;
  private readonly trim: Statement<[string, number]>;
  private readonly countOf: Statement<[string, number]>;
  private readonly insert: Statement<[string, number]>;
  private readonly sweep: Statement<[number]>;
  private readonly hitTx: (specs: readonly WindowSpec[], now: number) => WindowHits;

  constructor(
    private readonly db: Database,
    options: SqliteWindowCounterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sweepEvery = options.sweepEvery ?? 1_000;
    this.trim = db.prepare('DELETE FROM window_hits WHERE counter = ? AND expires_ms <= ?');
    this.countOf = db.prepare('SELECT COUNT(*) AS n FROM window_hits WHERE counter = ? AND expires_ms > ?');
    this.insert = db.prepare('INSERT INTO window_hits (counter, expires_ms) VALUES (?, ?)');
    this.sweep = db.prepare('DELETE FROM window_hits WHERE expires_ms <= ?');
    const tx = db.transaction((specs: readonly WindowSpec[], now: number): WindowHits => {
      const counts = specs.map((s) => {
        const id = counterId(s);
        this.trim.run(id, now);
        return (this.countOf.get(id, now) as { n: number }).n;
      });
      const refused = specs.flatMap((s, i) => (s.limit !== undefined && counts[i]! >= s.limit ? [i] : []));
      if (refused.length > 0) return { allowed: false, counts, refused };
      specs.forEach((s) => this.insert.run(counterId(s), now + s.windowMs));
      return { allowed: true, counts: counts.map((n) => n + 1), refused: [] };
    });
    // INVARIANT: IMMEDIATE takes the write lock before the counts are read, so two processes can
    // never both see the last free slot.
    this.hitTx = (specs, now) => tx.immediate(specs, now);
  }

  hit(key: string, windowMs: number, options: { limit?: number } = {}): Promise<WindowHit> {
    return hitOne(this, key, windowMs, options);
  }

  async hitAll(specs: readonly WindowSpec[]): Promise<WindowHits> {
    for (const s of specs) checkWindow(s.windowMs, s.limit);
    const now = this.now();
    return this.guard(() => {
      const r = this.hitTx(specs, now);
      if (++this.sinceSweep >= this.sweepEvery) {
        this.sinceSweep = 0;
        this.sweep.run(now);
      }
      return r;
    });
  }

  async count(key: string, windowMs: number): Promise<number> {
    return (await this.countAll([{ key, windowMs }]))[0]!;
  }

  async countAll(specs: readonly Pick<WindowSpec, 'key' | 'windowMs'>[]): Promise<number[]> {
    for (const s of specs) checkWindow(s.windowMs);
    const now = this.now();
    return this.guard(() => specs.map((s) => (this.countOf.get(counterId(s), now) as { n: number }).n));
  }

  private guard<T>(fn: () => T): T {
    return orUnavailableSync('window counter', fn);
  }
}

/** The row key of a counter: `(key, windowMs)` identifies it, as in every adapter. */
function counterId(spec: Pick<WindowSpec, 'key' | 'windowMs'>): string {
  return `${spec.windowMs}:${spec.key}`;
}
