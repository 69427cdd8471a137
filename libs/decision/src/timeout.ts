/** The decision timeout: past it the answer is a deny, nothing is committed and the remaining steps are cancelled. */
import { deny } from './outcome.ts';
import type { Planned } from './effects.ts';

/**
 * Races `work` against `ms`. On timeout the answer is a deny `decision_timeout` marked `timedOut`
 * (so `commitEffects` writes nothing) and `signal` is aborted, so the plan stops at its next step
 * instead of reading on.
 */
export async function withTimeout(ms: number, work: (signal: AbortSignal) => Promise<Planned>): Promise<Planned> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Planned>((resolve) => {
    timer = setTimeout(() => {
      const message = `facts not resolved within ${ms} ms`;
      controller.abort();
      resolve({ result: deny([{ code: 'decision_timeout', message }], ['decision_timeout'], undefined, `hard deny: ${message}`), timedOut: true });
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves `step`, then throws if the decision timed out meanwhile: the next step never starts. */
export async function unlessCancelled<T>(signal: AbortSignal, step: Promise<T>): Promise<T> {
  const value = await step;
  signal.throwIfAborted();
  return value;
}
