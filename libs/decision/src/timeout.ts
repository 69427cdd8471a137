/** The decision timeout: past it the answer is a deny, nothing is committed and the remaining steps are cancelled. */
import { deny } from './outcome.ts';
import type { Planned } from './effects.ts';

/** Set once the decision timed out (a plain flag: an `AbortController` per decision costs more than the check). */
export interface Cancellation {
  cancelled: boolean;
}

/** Thrown at the first step boundary past the decision timeout. */
export class DecisionCancelledError extends Error {
  constructor() {
    super('decision cancelled by its timeout');
  }
}

/**
 * Races `work` against `ms`. On timeout the answer is a deny `decision_timeout` marked `timedOut`
 * (so `commitEffects` writes nothing) and the cancellation is set, so the plan stops at its next
 * step instead of reading on.
 */
export function withTimeout(ms: number, work: (cancellation: Cancellation) => Promise<Planned>): Promise<Planned> {
  const cancellation: Cancellation = { cancelled: false };
  // One promise settled by whichever comes first (no `Promise.race` and no second promise per decision).
  return new Promise<Planned>((resolve, reject) => {
    const timer = setTimeout(() => {
      const message = `facts not resolved within ${ms} ms`;
      cancellation.cancelled = true;
      resolve({
        result: deny([{ code: 'decision_timeout', message }], ['decision_timeout'], undefined, `hard deny: ${message}`),
        timedOut: true,
      });
    }, ms);
    let running: Promise<Planned>;
    try {
      running = work(cancellation);
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    running.then(
      (planned) => {
        clearTimeout(timer);
        resolve(planned);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Resolves `step`, then throws if the decision timed out meanwhile: the next step never starts. */
export async function unlessCancelled<T>(cancellation: Cancellation, step: Promise<T>): Promise<T> {
  const value = await step;
  if (cancellation.cancelled) throw new DecisionCancelledError();
  return value;
}
