/** A bounded-concurrency runner over a (possibly lazy) sequence of items. */

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, stopping early (without
 * starting new calls) once `signal` aborts. Errors from `fn` propagate and stop the pool.
 */
export async function runPool<T>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    for (;;) {
      if (failure || signal?.aborted) return;
      const next = iterator.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (failure) throw failure.error;
}
