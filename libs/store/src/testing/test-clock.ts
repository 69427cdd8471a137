import type { Clock } from '../paging.ts';

/** A clock that only moves when told to, for ordering and expiry tests. */
export interface TestClock {
  now: Clock;
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
  /** Sets the time. */
  set(at: Date | string): void;
}

/** A {@link TestClock} starting at `start` (default 2030-01-01T00:00:00Z), ticking 1 ms per read so timestamps are distinct. */
export function testClock(start: Date | string = '2030-01-01T00:00:00.000Z'): TestClock {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t++),
    advance: (ms) => {
      t += ms;
    },
    set: (at) => {
      t = new Date(at).getTime();
    },
  };
}
