import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff, Pump } from './pump.ts';

afterEach(() => vi.useRealTimers());

describe('backoff', () => {
  it('doubles the wait after each failure up to the maximum, and starts over after a success', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const b = new Backoff({ initialBackoffMs: 10, maxBackoffMs: 25 });
    expect(b.waiting()).toBe(false);
    b.failed();
    expect(b.retryAt).toBe(1_000_010);
    expect(b.waiting()).toBe(true);
    b.failed();
    expect(b.retryAt).toBe(1_000_020);
    b.failed();
    b.failed();
    expect(b.retryAt).toBe(1_000_025);
    b.reset();
    b.failed();
    expect(b.retryAt).toBe(1_000_010);
    b.clear();
    expect(b.waiting()).toBe(false);
  });
});

describe('pump', () => {
  it('runs one step at a time; a kick during a run makes exactly one more run', async () => {
    let runs = 0;
    let release!: () => void;
    const pump = new Pump(
      async () => {
        runs++;
        if (runs === 1) await new Promise<void>((r) => (release = r));
      },
      () => undefined,
      5,
    );
    const first = pump.kick();
    const second = pump.kick();
    void pump.kick();
    expect(runs).toBe(1);
    release();
    await first;
    await second;
    expect(runs).toBe(2);
  });

  it('hands a failing step to the fault handler and ends the run', async () => {
    const faults: unknown[] = [];
    const pump = new Pump(
      async () => {
        throw new Error('disk gone');
      },
      (err) => faults.push(err),
      5,
    );
    await pump.kick();
    expect(faults).toHaveLength(1);
  });

  it('runs a forced step after the flush interval, and no timer once stopped', async () => {
    vi.useFakeTimers();
    const forced: boolean[] = [];
    const pump: Pump = new Pump(
      async () => void forced.push(pump.forced),
      () => undefined,
      50,
    );
    pump.scheduleFlush();
    pump.scheduleFlush();
    await vi.advanceTimersByTimeAsync(49);
    expect(forced).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(forced).toEqual([true]);
    expect(pump.forced).toBe(false);
    pump.stop();
    pump.scheduleFlush();
    pump.scheduleRetry(Date.now() + 10);
    await vi.advanceTimersByTimeAsync(100);
    expect(forced).toEqual([true]);
  });
});
