import type { Database, Statement, Transaction } from 'better-sqlite3';
import { checkWindow, counterId, hitOne } from '../counters/memory-window-counter.ts';
import { sliceOf, type WindowCounter, type WindowHit, type WindowHits, type WindowSpec } from '../counters/ports.ts';
import { orUnavailableSync } from '../unavailable.ts';

/** Options of {@link SqliteWindowCounter}. */
export interface SqliteWindowCounterOptions {
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Expired runs of every counter are deleted once per this many hits. Default 1,000. */
  sweepEvery?: number;
}

/**
 * Sliding-window counters in the SQLite file of the embedded mode (store migration 8), so quota
 * counts survive a restart. A counter is its runs (`window_runs`: the hits of one slice of its
 * window, {@link sliceOf}, which leave it in the same millisecond: one row; at most 101 live past a
 * minute) and
 * its total (`window_totals`), kept in step, so a hit costs a few index seeks however many hits
 * its window holds. A multi-counter hit runs in one
 * `BEGIN IMMEDIATE` transaction, so it is all or nothing and atomic across processes sharing the
 * file. The handle is owned by the caller (usually `Storage.sqlite`). SQLite errors become
 * `UnavailableError` (the decision then fails closed).
 */
export class SqliteWindowCounter implements WindowCounter {
  private readonly now: () => number;
  private readonly sweepEvery: number;
  private sinceSweep = 0;
  private readonly trim: Statement<[string, number]>;
  private readonly less: Statement<[number, string]>;
  private readonly totalOf: Statement<[string]>;
  private readonly liveOf: Statement<[string, string, number]>;
  private readonly addRun: Statement<[{ counter: string; expires: number }]>;
  private readonly addTotal: Statement<[string]>;
  private readonly sweepTx: Transaction<(now: number) => void>;
  private readonly hitTx: (specs: readonly WindowSpec[], now: number) => WindowHits;

  constructor(
    private readonly db: Database,
    options: SqliteWindowCounterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sweepEvery = options.sweepEvery ?? 1_000;
    this.trim = db.prepare('DELETE FROM window_runs WHERE counter = ? AND expires_ms <= ? RETURNING n');
    this.less = db.prepare('UPDATE window_totals SET n = n - ? WHERE counter = ?');
    this.totalOf = db.prepare('SELECT n FROM window_totals WHERE counter = ?');
    // A read does not trim: the total less the runs that expired since the counter's last hit.
    this.liveOf = db.prepare(
      `SELECT coalesce((SELECT n FROM window_totals WHERE counter = ?), 0)
        - coalesce((SELECT SUM(n) FROM window_runs WHERE counter = ? AND expires_ms <= ?), 0) AS n`,
    );
    // Expiries never decrease within a counter (a clock that went back does not shorten a hit's
    // stay below the newest one's), as in the other adapters.
    this.addRun = db.prepare(
      `INSERT INTO window_runs (counter, expires_ms, n)
        VALUES (@counter, max(@expires, coalesce((SELECT max(expires_ms) FROM window_runs WHERE counter = @counter), 0)), 1)
        ON CONFLICT (counter, expires_ms) DO UPDATE SET n = n + 1`,
    );
    this.addTotal = db.prepare('INSERT INTO window_totals (counter, n) VALUES (?, 1) ON CONFLICT (counter) DO UPDATE SET n = n + 1');
    const sweepAll = db.prepare('DELETE FROM window_runs WHERE expires_ms <= ? RETURNING counter, n');
    const dropEmpty = db.prepare('DELETE FROM window_totals WHERE n <= 0');
    this.sweepTx = db.transaction((now: number) => {
      const gone = new Map<string, number>();
      for (const r of sweepAll.all(now) as { counter: string; n: number }[]) gone.set(r.counter, (gone.get(r.counter) ?? 0) + r.n);
      for (const [counter, n] of gone) this.less.run(n, counter);
      dropEmpty.run();
    });
    const tx = db.transaction((specs: readonly WindowSpec[], now: number): WindowHits => {
      const ids = specs.map(counterId);
      const counts = ids.map((id) => {
        let expired = 0;
        for (const r of this.trim.all(id, now) as { n: number }[]) expired += r.n;
        if (expired > 0) this.less.run(expired, id);
        return (this.totalOf.get(id) as { n: number } | undefined)?.n ?? 0;
      });
      const refused = specs.flatMap((s, i) => (s.limit !== undefined && counts[i]! >= s.limit ? [i] : []));
      if (refused.length > 0) return { allowed: false, counts, refused };
      // A counter named twice is hit twice: each spec answers the count after its own hit.
      const added = new Map<string, number>();
      const after = specs.map((s, i) => {
        const id = ids[i]!;
        this.addRun.run({ counter: id, expires: sliceOf(now, s.windowMs) + s.windowMs });
        this.addTotal.run(id);
        const n = (added.get(id) ?? 0) + 1;
        added.set(id, n);
        return counts[i]! + n;
      });
      return { allowed: true, counts: after, refused: [] };
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
        this.sweepTx.immediate(now);
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
    return this.guard(() =>
      specs.map((s) => {
        const id = counterId(s);
        return (this.liveOf.get(id, id, now) as { n: number }).n;
      }),
    );
  }

  private guard<T>(fn: () => T): T {
    return orUnavailableSync('window counter', fn);
  }
}
