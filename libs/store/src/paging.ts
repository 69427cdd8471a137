import { InvalidInputError } from '@argus/platform';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './ports.ts';

/** Clamps a requested page size into `[1, MAX_PAGE_LIMIT]`. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Encodes the sort key of the last item of a page as an opaque cursor (base64url JSON). The
 * key is a tuple so ties on the first element are broken by the id.
 */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor; a malformed one is bad input naming `cursor`. */
export function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    if (cursor.length > 2048) throw new Error('too long');
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(key) || key.length === 0 || key.length > 4 || !key.every((k) => typeof k === 'string' || typeof k === 'number')) {
      throw new Error('bad shape');
    }
    return key as (string | number)[];
  } catch {
    throw new InvalidInputError('invalid cursor', [{ path: '/cursor', message: 'is not a cursor this server issued' }]);
  }
}

/** Builds a page from `limit + 1` fetched rows: the extra row only says another page exists. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): { items: T[]; nextCursor?: string } {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}

/** A clock: the current time. Stores take one so tests can pin time. */
export type Clock = () => Date;

/** The system clock. */
export const systemClock: Clock = () => new Date();
