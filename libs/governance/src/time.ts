/** A point in time as the caller's clock gives it: a `Date` or epoch milliseconds. */
export type Instant = Date | number;

/** Epoch milliseconds of an instant. */
export function toMillis(at: Instant): number {
  return typeof at === 'number' ? at : at.getTime();
}

/**
 * Epoch milliseconds of an ISO-8601 timestamp, or NaN when it does not parse. Callers treat NaN as
 * "already expired" so a corrupt timestamp fails closed.
 */
export function parseTime(iso: string | undefined): number {
  return iso === undefined ? Number.NaN : Date.parse(iso);
}

/** True when `expiresAt` is at or before `now`, or unparseable (fail closed). */
export function isExpired(expiresAt: string, now: number): boolean {
  const t = parseTime(expiresAt);
  return !(t > now);
}
