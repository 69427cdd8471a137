import type { RequestHandler, Response } from 'express';
import { ArgusError, asyncRoute, ConflictError } from '@argus/platform';
import type { RegistryChangedEvent, RegistryKind, TrustKind, TrustState, WriteOptions } from '@argus/store';
import { asPrecondition, ifMatch, pathId, sendRecord, type ResolvedDeps } from '../deps.ts';

/**
 * The answers the humans, agents and MCP servers routes share: a record created, read, updated
 * under `If-Match` or deleted is answered and announced (`registry.changed`) the same way for
 * every kind.
 */

/** The collection each kind of record lives in under `/v1/registry`. */
const COLLECTION: Record<RegistryKind, string> = { human: 'humans', agent: 'agents', 'mcp-server': 'mcp-servers' };

/** A record as these answers read it: its id, its version (the ETag) and, for agents and servers, its trust. */
interface RecordLike {
  id: string;
  version: number;
  trust?: TrustState;
}

/** Answers 404 in the wire error shape: no `kind` record `id`. */
function sendNotFound(res: Response, kind: RegistryKind, id: string): void {
  res.status(404).json({ code: 'not_found', message: `${kind} \`${id}\` not found`, errors: [] });
}

/** Answers 201 with the new record's location, then announces it. */
export async function sendCreated(res: Response, deps: ResolvedDeps, kind: RegistryKind, record: RecordLike): Promise<void> {
  res.setHeader('location', `/v1/registry/${COLLECTION[kind]}/${encodeURIComponent(record.id)}`);
  sendRecord(res, 201, record);
  await deps.changed({ kind, id: record.id, change: 'created', ...(record.trust !== undefined ? { trust: record.trust } : {}) });
}

/**
 * Answers the record read for `id`, or 404. An agent or a server is sent with its lease, read and
 * never waited for: with the lease store down the record is still served, lease `unknown`.
 */
async function sendFound(res: Response, deps: ResolvedDeps, kind: RegistryKind, id: string, record: RecordLike | undefined): Promise<void> {
  if (!record) return sendNotFound(res, kind, id);
  sendRecord(res, 200, record, kind === 'human' ? {} : { lease: await deps.leases.get(kind, id) });
}

/** `GET /:id`: the record `read` finds for the path id ({@link sendFound}). */
export function readRoute(deps: ResolvedDeps, kind: RegistryKind, read: (id: string) => Promise<RecordLike | undefined>): RequestHandler {
  return asyncRoute(async (req, res) => {
    const id = pathId(req);
    await sendFound(res, deps, kind, id, await read(id));
  });
}

/**
 * Runs `update` on the version the caller expects (its `If-Match`, parsed), if it named one: a
 * version conflict is then answered 412 instead of 409.
 */
export function updateExpecting<T>(expected: number | undefined, update: (options: WriteOptions) => Promise<T>): Promise<T> {
  return update(expected !== undefined ? { expectedVersion: expected } : {}).catch((err: unknown) => {
    throw asPrecondition(err, expected);
  });
}

/** Answers a delete: 404 when nothing was deleted; else the record's lease is dropped (best effort), 204, and the deletion announced. */
async function sendDeleted(res: Response, deps: ResolvedDeps, kind: RegistryKind, id: string, deleted: boolean): Promise<void> {
  if (!deleted) return sendNotFound(res, kind, id);
  if (kind !== 'human') await deps.leases.drop(kind, id).catch(() => undefined);
  res.status(204).end();
  await deps.changed({ kind, id, change: 'deleted' });
}

/**
 * `DELETE /:id`: `remove` deletes the record of the path id ({@link sendDeleted}), after `check`
 * (which throws to refuse the deletion) when given. With an `If-Match` (parsed as `PATCH` parses
 * it: a malformed one is a 400), the record `read` finds must be at that version, else 412
 * `precondition_failed` and nothing is deleted. The version is compared just before the delete,
 * not in the same store write: a write landing between the two is not seen.
 */
export function deleteRoute(
  deps: ResolvedDeps,
  kind: RegistryKind,
  read: (id: string) => Promise<RecordLike | undefined>,
  remove: (id: string) => Promise<boolean>,
  check?: (id: string) => Promise<void>,
): RequestHandler {
  return asyncRoute(async (req, res) => {
    const id = pathId(req);
    const expected = ifMatch(req);
    if (expected !== undefined) {
      const current = await read(id);
      if (!current) return sendNotFound(res, kind, id);
      // The answer PATCH gives to a stale If-Match.
      if (current.version !== expected)
        throw new ArgusError('precondition_failed', `${kind} \`${id}\` is at version ${current.version}, not ${expected}`, {
          errors: [{ path: '/version', message: `stale version ${expected}` }],
        });
    }
    await check?.(id);
    await sendDeleted(res, deps, kind, id, await remove(id));
  });
}

/** How many times a scanner report is tried when a concurrent writer bumped the version. */
const UPSERT_ATTEMPTS = 3;

/** Runs a scanner's read-then-write report again (up to {@link UPSERT_ATTEMPTS} times in all) while it loses a version race. */
export async function retryOnConflict<T>(report: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await report();
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= UPSERT_ATTEMPTS) throw err;
    }
  }
}

/**
 * Answers a scanner's report on an agent or a server: the record's lease renewed (quietly), the
 * record sent with it (and `extra`), then the change announced.
 */
export async function sendReported(
  res: Response,
  deps: ResolvedDeps,
  kind: TrustKind,
  status: 200 | 201,
  record: RecordLike & { trust: TrustState },
  change: RegistryChangedEvent['change'],
  extra: Record<string, unknown> = {},
): Promise<void> {
  const lease = await renewQuietly(deps, kind, record.id);
  sendRecord(res, status, record, { lease, ...extra });
  await deps.changed({ kind, id: record.id, change, trust: record.trust });
}

/** Renews the lease of a record a scanner just saw; a lease store outage does not fail the report. */
async function renewQuietly(deps: ResolvedDeps, kind: TrustKind, id: string) {
  try {
    return await deps.leases.renew(kind, id, deps.limits.defaultLeaseTtlMs);
  } catch (err) {
    deps.logger.warn({ kind, id, err: err instanceof Error ? err.message : String(err) }, 'lease not renewed');
    return { state: 'unknown' as const };
  }
}
