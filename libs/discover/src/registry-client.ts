/**
 * The registry's scanner-facing API as a port (`RegistryClient`) and its HTTP adapter. Upserts are
 * idempotent on the registry side: the same id found twice is one record, its `lastSeen` and lease
 * refreshed, and a changed tool list moves an MCP server to `pending`/`quarantined` (rug-pull check).
 */
import { ArgusError, ForbiddenError, UnauthorizedError, UnavailableError, type ErrorCode, type ErrorDetail } from '@argus/platform';

/** A tool as the registry receives it. */
export interface RegistryTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/**
 * Body of `PUT /v1/registry/mcp-servers/{id}` (`schemas/registry/mcp-server-upsert.schema.json`).
 * The registry records `discoveredBy` from the authenticated scanner credential, not from the body.
 */
export interface McpServerUpsert {
  name: string;
  url: string;
  transport: 'streamable-http' | 'sse';
  tools: RegistryTool[];
}

/** Body of `PUT /v1/registry/agents/{id}` (`schemas/registry/agent-upsert.schema.json`). */
export interface AgentUpsert {
  name: string;
  kind: string;
  url?: string;
  labels?: Record<string, string>;
  capabilities?: string[];
}

/** Which collection a record lives in. */
export type RegistryCollection = 'agents' | 'mcp-servers';

/** Lease TTL bounds of the registry's heartbeat (`schemas/registry/lease-renew.schema.json`). */
export const LEASE_TTL_BOUNDS = { minMs: 1000, maxMs: 86_400_000 } as const;

/**
 * The answer to one upsert: accepted (with the trust state the registry reports, and the tool names
 * that changed when the registry detected a changed tool list), or
 * rejected by the registry for this record (4xx other than 401/403), with its wire error.
 */
export type UpsertResult =
  | { ok: true; id: string; status: number; trust?: string; toolsChanged?: string[] }
  | { ok: false; id: string; status: number; code: string; message: string; errors: ErrorDetail[] };

/** The scanner-facing registry API. Throws only for infrastructure faults (unreachable, 5xx, bad credential). */
export interface RegistryClient {
  upsertMcpServer(id: string, body: McpServerUpsert): Promise<UpsertResult>;
  upsertAgent(id: string, body: AgentUpsert): Promise<UpsertResult>;
  /** Heartbeat: renews the record's lease for `ttlMs`. */
  renewLease(collection: RegistryCollection, id: string, ttlMs: number): Promise<UpsertResult>;
}

/** Options of the HTTP adapter. */
export interface HttpRegistryClientOptions {
  /** Registry base URL, e.g. `http://127.0.0.1:8082`. */
  url: string;
  /** Scanner bearer token. Never logged, never part of an error. */
  token?: string;
  timeoutMs: number;
  /** Injected for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

const WIRE_CODES = new Set<string>([
  'invalid_json',
  'invalid_parameter',
  'body_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'method_not_allowed',
  'invalid_policy',
  'invalid_config',
  'precondition_failed',
  'too_many_requests',
  'timeout',
  'unavailable',
  'upstream_error',
  'internal_error',
]);

function readTrust(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  for (const candidate of [b.trust, b.trustState, (b.record as Record<string, unknown> | undefined)?.trust]) {
    if (typeof candidate === 'string') return candidate;
  }
  return undefined;
}

/** `+added`, `-removed`, `~changed` tool names from the registry's `toolsChanged` diff. */
function readToolsChanged(body: unknown): string[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const diff = (body as { toolsChanged?: unknown }).toolsChanged;
  if (typeof diff !== 'object' || diff === null) return undefined;
  const d = diff as Record<string, unknown>;
  const names = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return [...names(d.added).map((n) => `+${n}`), ...names(d.removed).map((n) => `-${n}`), ...names(d.changed).map((n) => `~${n}`)];
}

/** `RegistryClient` over HTTP with a scanner bearer token. */
export class HttpRegistryClient implements RegistryClient {
  private readonly base: string;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: HttpRegistryClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.doFetch = options.fetch ?? fetch;
  }

  upsertMcpServer(id: string, body: McpServerUpsert): Promise<UpsertResult> {
    return this.send('PUT', `/v1/registry/mcp-servers/${encodeURIComponent(id)}`, id, body);
  }

  upsertAgent(id: string, body: AgentUpsert): Promise<UpsertResult> {
    return this.send('PUT', `/v1/registry/agents/${encodeURIComponent(id)}`, id, body);
  }

  renewLease(collection: RegistryCollection, id: string, ttlMs: number): Promise<UpsertResult> {
    return this.send('POST', `/v1/registry/${collection}/${encodeURIComponent(id)}/lease`, id, { ttlMs });
  }

  private async send(method: string, path: string, id: string, body: unknown): Promise<UpsertResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let res: Response;
    try {
      res = await this.doFetch(this.base + path, {
        method,
        headers,
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error && err.name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : 'unreachable';
      throw new UnavailableError(`registry ${reason} (${method} ${path})`, err instanceof Error ? new Error(err.message) : undefined);
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      const trust = readTrust(parsed);
      const changed = readToolsChanged(parsed);
      // The registry may have reconciled the report onto a record it already held for the same endpoint.
      const recordId = typeof (parsed as { id?: unknown } | undefined)?.id === 'string' ? (parsed as { id: string }).id : id;
      return {
        ok: true,
        id: recordId,
        status: res.status,
        ...(trust !== undefined ? { trust } : {}),
        ...(changed ? { toolsChanged: changed } : {}),
      };
    }
    if (res.status === 401) throw new UnauthorizedError('registry refused the scanner credential');
    if (res.status === 403) throw new ForbiddenError('the scanner credential may not write to the registry');
    if (res.status === 429 || res.status >= 500) {
      throw new UnavailableError(`registry answered ${res.status} (${method} ${path})`);
    }
    const wire = (parsed ?? {}) as { code?: unknown; message?: unknown; errors?: unknown };
    const errors = Array.isArray(wire.errors)
      ? wire.errors.filter(
          (e): e is ErrorDetail =>
            typeof e === 'object' &&
            e !== null &&
            typeof (e as ErrorDetail).path === 'string' &&
            typeof (e as ErrorDetail).message === 'string',
        )
      : [];
    return {
      ok: false,
      id,
      status: res.status,
      code: typeof wire.code === 'string' ? wire.code : `http_${res.status}`,
      message: typeof wire.message === 'string' ? wire.message : `registry answered ${res.status}`,
      errors,
    };
  }
}

/** Maps a registry rejection to an `ArgusError` (for callers that want to throw it). */
export function rejectionError(result: Extract<UpsertResult, { ok: false }>): ArgusError {
  const code = (WIRE_CODES.has(result.code) ? result.code : 'upstream_error') as ErrorCode;
  return new ArgusError(code, `registry rejected \`${result.id}\`: ${result.message}`, { errors: result.errors });
}
