import { UnavailableError } from '@argus/platform';

/**
 * How the adapters report a backend fault: any error of the call becomes `UnavailableError`
 * (`<what> unavailable`, the fault as its cause), an infrastructure fault the decision path fails
 * closed on, never a wrong answer.
 */

/** Runs an asynchronous backend call (Redis, MongoDB), a fault becoming `UnavailableError`. */
export async function orUnavailable<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new UnavailableError(`${what} unavailable`, err);
  }
}

/** Runs a synchronous backend call (SQLite), a fault becoming `UnavailableError`. */
export function orUnavailableSync<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new UnavailableError(`${what} unavailable`, err);
  }
}
