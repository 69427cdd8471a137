/**
 * What drives the pipeline: one run of its step at a time ({@link Pump}), started after the
 * caller's turn, after the flush interval or at the retry time, and the exponential backoff of
 * failed writes ({@link Backoff}).
 */

/** Exponential backoff between failed sink writes, from `initialBackoffMs` to `maxBackoffMs`. */
export class Backoff {
  private until = 0;
  private delayMs: number;

  constructor(private readonly limits: { initialBackoffMs: number; maxBackoffMs: number }) {
    this.delayMs = limits.initialBackoffMs;
  }

  /** When the next attempt may run (ms since the epoch; 0: now). */
  get retryAt(): number {
    return this.until;
  }

  /** True until the retry time. */
  waiting(): boolean {
    return Date.now() < this.until;
  }

  /** A write failed: wait the current delay, and twice as long after the next failure. */
  failed(): void {
    this.until = Date.now() + this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.limits.maxBackoffMs);
  }

  /** A write succeeded: the next failure waits the initial delay again. */
  reset(): void {
    this.delayMs = this.limits.initialBackoffMs;
  }

  /** Allows an attempt now, whatever the delay says (the last attempt of a close). */
  clear(): void {
    this.until = 0;
  }
}

/**
 * Runs `step` one at a time: a kick while it runs makes it run once more when it ends. A `step`
 * that throws is handed to `fault` and the run ends (the fault handler schedules the retry).
 */
export class Pump {
  private running: Promise<void> | undefined;
  private again = false;
  private soon = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private holds = 0;
  private stopped = false;

  constructor(
    private readonly step: () => Promise<void>,
    private readonly fault: (err: unknown) => void,
    private readonly flushIntervalMs: number,
  ) {}

  /** True while someone wants partial batches written now (a flush, a close, the flush timer). */
  get forced(): boolean {
    return this.holds > 0;
  }

  /** Runs `fn` with partial batches written at once ({@link forced}). */
  async forcing<T>(fn: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      return await fn();
    } finally {
      this.holds--;
    }
  }

  /** Runs the step now, or once more after the current run; resolves when the runs end. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.step();
          } catch (err) {
            this.fault(err);
            return;
          }
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Kicks after the caller's turn: a batch is never written inside `record()`. */
  kickSoon(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      void this.kick();
    });
  }

  /** Kicks, forced, after the flush interval (a partial batch waits that long for company). */
  scheduleFlush(): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.forcing(() => this.kick());
    }, this.flushIntervalMs);
    this.flushTimer.unref();
  }

  /** Kicks at `at` (ms since the epoch). */
  scheduleRetry(at: number): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        void this.kick();
      },
      Math.max(0, at - Date.now()),
    );
    this.retryTimer.unref();
  }

  /** No timer runs after this; a kick still runs the step. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.retryTimer);
  }
}
