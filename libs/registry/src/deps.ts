import type { Request, Response } from 'express';
import { validatorFor } from '@argus/contracts';
import { ArgusError, InvalidInputError, type Authenticator, type Logger } from '@argus/platform';
import {
  TOPICS,
  systemClock,
  type Clock,
  type EventBus,
  type LeaseStore,
  type RegistryChangedEvent,
  type RegistryStore,
} from '@argus/store';

/** Limits of the registry API; every one has an explicit default ({@link DEFAULT_REGISTRY_LIMITS}). */
export interface RegistryLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
  /** More tools than this in one MCP server report is refused with 413. */
  maxTools: number;
  /** Lease TTL when a heartbeat or a scanner report does not name one. */
  defaultLeaseTtlMs: number;
}

/** Defaults of {@link RegistryLimits}. */
export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxBodyBytes: 1_048_576,
  maxJsonDepth: 32,
  maxTools: 256,
  defaultLeaseTtlMs: 30_000,
};

/** What the registry router is built from. */
export interface RegistryDeps {
  store: RegistryStore;
  leases: LeaseStore;
  events: EventBus;
  auth: Authenticator;
  logger: Logger;
  clock?: Clock;
  limits?: Partial<RegistryLimits>;
  /** Where a trusted MCP server goes when its tools change: `pending` (default) or `quarantined`. */
  onToolChange?: 'pending' | 'quarantined';
}

/** The dependencies with every default filled in. */
export interface ResolvedDeps extends Required<Omit<RegistryDeps, 'limits'>> {
  limits: RegistryLimits;
  /** Publishes `registry.changed`; a failing bus is logged, never fails the request that changed the record. */
  changed(event: RegistryChangedEvent): Promise<void>;
}

/** Fills defaults in. */
export function resolveDeps(deps: RegistryDeps): ResolvedDeps {
  return {
    ...deps,
    clock: deps.clock ?? systemClock,
    limits: { ...DEFAULT_REGISTRY_LIMITS, ...deps.limits },
    onToolChange: deps.onToolChange ?? 'pending',
    async changed(event) {
      try {
        await deps.events.publish(TOPICS.registryChanged, event);
      } catch (err) {
        deps.logger.warn(
          { event: { kind: event.kind, id: event.id, change: event.change }, err: err instanceof Error ? err.message : String(err) },
          'registry.changed not propagated',
        );
      }
    },
  };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** The `:id` path parameter, or a 400 naming `/params/id`. */
export function pathId(req: Request): string {
  const id = req.params.id;
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new InvalidInputError('invalid id', [
      { path: '/params/id', message: 'must be 1-128 characters: letters, digits and . _ : @ - (starting with a letter or digit)' },
    ]);
  }
  return id;
}

const validators = new Map<
  string,
  (data: unknown) => { ok: true; value: unknown } | { ok: false; errors: { path: string; message: string }[] }
>();

/** Validates `data` against `schemas/registry/<name>.schema.json`; a 400 naming every offending path otherwise. */
export function validate<T>(name: string, data: unknown, where: 'body' | 'query' = 'body'): T {
  let v = validators.get(name);
  if (!v) validators.set(name, (v = validatorFor<unknown>(`https://argus.dev/schemas/registry/${name}.json`)));
  const result = v(data === undefined && where === 'body' ? undefined : data);
  if (!result.ok) {
    const prefix = where === 'query' ? '/query' : '';
    throw new InvalidInputError(
      `invalid ${where}`,
      result.errors.map((e) => ({ path: `${prefix}${e.path === '/' && prefix ? '' : e.path}` || '/', message: e.message })),
    );
  }
  return result.value as T;
}

/** A plain copy of the query string (express 5 gives a null-prototype object). */
export function queryOf(req: Request): Record<string, unknown> {
  return { ...(req.query as Record<string, unknown>) };
}

/** Parses an optional `If-Match` header (`"3"` or `3`) into an expected version; a weak `W/"3"` is a 412. */
export function ifMatch(req: Request): number | undefined {
  const header = req.headers['if-match'];
  if (header === undefined) return undefined;
  const m = /^(W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!m)
    throw new InvalidInputError('invalid If-Match', [
      { path: '/headers/if-match', message: 'expected the quoted version of the record, e.g. "3"' },
    ]);
  // If-Match compares strongly (RFC 9110 §13.1.1): a weak tag matches no version, so it is a 412.
  if (m[1])
    throw new ArgusError('precondition_failed', 'a weak If-Match tag never matches: If-Match compares versions strongly', {
      errors: [{ path: '/headers/if-match', message: 'weak tag' }],
    });
  return Number(m[2]);
}

/** Sends a single record with its version as the ETag. */
export function sendRecord(res: Response, status: number, record: { version: number }, extra: Record<string, unknown> = {}): void {
  res.setHeader('etag', `"${record.version}"`);
  res.status(status).json({ ...record, ...extra });
}

/** Maps a version conflict to 412 when the caller sent `If-Match`. */
export function asPrecondition(err: unknown, expected: number | undefined): unknown {
  if (expected !== undefined && err instanceof ArgusError && err.code === 'conflict' && err.errors.some((e) => e.path === '/version')) {
    return new ArgusError('precondition_failed', err.message, { errors: err.errors });
  }
  return err;
}

/**
 * Validates an MCP server URL: http or https, a host, no credentials. It is never fetched —
 * registration must not become a way to make the server call arbitrary addresses.
 */
export function checkServerUrl(value: string, path = '/url'): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError('invalid URL', [{ path, message: 'is not an absolute URL' }]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidInputError('invalid URL', [{ path, message: `scheme \`${url.protocol.replace(/:$/, '')}\` is not http or https` }]);
  if (url.hostname === '') throw new InvalidInputError('invalid URL', [{ path, message: 'has no host' }]);
  if (url.username !== '' || url.password !== '')
    throw new InvalidInputError('invalid URL', [{ path, message: 'must not carry credentials' }]);
}

/** 413 when a tool list is longer than the configured limit. */
export function checkToolCount(tools: readonly unknown[] | undefined, max: number): void {
  if (tools && tools.length > max) {
    throw new ArgusError('body_too_large', `too many tools: ${tools.length} > ${max}`, {
      errors: [{ path: '/tools', message: `at most ${max} tools` }],
    });
  }
}
