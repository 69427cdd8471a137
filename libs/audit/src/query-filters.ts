/**
 * Shared pieces of the query stores: the opaque cursor, principal parsing and time bounds, so that
 * SQLite and MongoDB page and filter identically.
 */
import { InvalidInputError } from '@argus/platform';
import type { AuditQueryFilters, AuditRecord } from './types.ts';

/** Position after which the next page starts (records are ordered by time, writer, seq, descending). */
export interface CursorPosition {
  time: string;
  writer: string;
  seq: number;
}

/** Encodes a page position as an opaque URL-safe cursor. */
export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.time, pos.writer, pos.seq])).toString('base64url');
}

/** Decodes a cursor; throws `InvalidInputError` naming `cursor` when it is not one of ours. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && typeof v[1] === 'string' && Number.isInteger(v[2])) {
      return { time: v[0], writer: v[1], seq: v[2] as number };
    }
  } catch {
    // fall through
  }
  throw new InvalidInputError('invalid query parameter `cursor`', [{ path: '/cursor', message: 'not a cursor returned by this API' }]);
}

/** `Agent::support-bot`, `Agent::"support-bot"` or `support-bot` → type (optional) and id. */
export function parsePrincipal(value: string): { type?: string; id: string } {
  const i = value.indexOf('::');
  if (i === -1) return { id: value };
  let id = value.slice(i + 2);
  if (id.length >= 2 && id.startsWith('"') && id.endsWith('"')) id = id.slice(1, -1);
  return { type: value.slice(0, i), id };
}

/** Normalizes an ISO time bound to the form records are stored in, so bounds compare as strings. */
export function normalizeTime(value: string, param: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new InvalidInputError(`invalid query parameter \`${param}\``, [{ path: `/${param}`, message: 'not an ISO 8601 date-time' }]);
  return d.toISOString();
}

/** Whether a record matches the filters, for live streams (same semantics as the stores). */
export function matchesFilters(record: AuditRecord, filters: AuditQueryFilters): boolean {
  if (filters.principal !== undefined) {
    const p = parsePrincipal(filters.principal);
    if (record.principal.id !== p.id || (p.type !== undefined && record.principal.type !== p.type)) return false;
  }
  if (filters.root !== undefined && record.root?.id !== filters.root) return false;
  if (filters.goal !== undefined && record.goal !== filters.goal) return false;
  if (filters.intent !== undefined && record.intent !== filters.intent) return false;
  if (filters.action !== undefined && record.action !== filters.action) return false;
  if (filters.outcome !== undefined && record.outcome !== filters.outcome) return false;
  if (filters.policy !== undefined && !record.policies.includes(filters.policy)) return false;
  if (filters.from !== undefined && record.time < normalizeTime(filters.from, 'from')) return false;
  if (filters.to !== undefined && record.time >= normalizeTime(filters.to, 'to')) return false;
  return true;
}
