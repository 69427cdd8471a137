/**
 * The audit read API: `GET /v1/decisions` (filters + cursor pagination), `GET /v1/decisions/:id`
 * and `GET /v1/decisions/stream` (Server-Sent Events of live records).
 */
import type { AuditQueryFilters, AuditQueryStore, AuditRecord, AuditSubscribe } from '@argus/audit';
import { matchesFilters, normalizeTime } from '@argus/audit';
import { validatorFor } from '@argus/contracts';
import { InvalidInputError, NotFoundError, UnavailableError } from '@argus/platform';
import express, { type Request, type RequestHandler, type Router } from 'express';

/** Collaborators of the decisions router. */
export interface DecisionsRouterDeps {
  query: AuditQueryStore;
  /** Runs before every route (authentication / authorization of audit readers). */
  auth?: RequestHandler;
  /** Live records for `/v1/decisions/stream` (the in-process audit trail). Without it the stream answers 503. */
  live?: AuditSubscribe;
  /** Default page size. Default 100. */
  defaultLimit?: number;
  /** SSE keep-alive comment interval. Default 15000. */
  heartbeatMs?: number;
  /** A stream whose client reads slower than this many buffered bytes is closed. Default 1 MiB. */
  maxStreamBufferBytes?: number;
}

interface DecisionsQuery {
  principal?: string;
  root?: string;
  goal?: string;
  intent?: string;
  action?: string;
  decision?: AuditQueryFilters['outcome'];
  outcome?: AuditQueryFilters['outcome'];
  policy?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: string;
}

const validateQuery = validatorFor<DecisionsQuery>('https://argus.dev/schemas/audit/decisions-query.json');

function parseQuery(req: Request, allow: { paging: boolean }): { filters: AuditQueryFilters; cursor?: string; limit?: number } {
  const raw = { ...(req.query as Record<string, unknown>) };
  const result = validateQuery(raw);
  if (!result.ok) {
    const first = result.errors[0]!;
    const param = first.path.split('/')[1] ?? '';
    throw new InvalidInputError(param ? `invalid query parameter \`${param}\`` : 'invalid query', result.errors);
  }
  const q = result.value;
  if (!allow.paging && (q.cursor !== undefined || q.limit !== undefined)) {
    const param = q.cursor !== undefined ? 'cursor' : 'limit';
    throw new InvalidInputError(`invalid query parameter \`${param}\``, [{ path: `/${param}`, message: 'not supported on the stream' }]);
  }
  if (q.decision !== undefined && q.outcome !== undefined && q.decision !== q.outcome) {
    throw new InvalidInputError('invalid query parameter `outcome`', [{ path: '/outcome', message: 'contradicts `decision`' }]);
  }
  if (q.from !== undefined && q.to !== undefined && normalizeTime(q.from, 'from') >= normalizeTime(q.to, 'to')) {
    throw new InvalidInputError('invalid query parameter `to`', [{ path: '/to', message: 'must be later than `from`' }]);
  }
  const outcome = q.decision ?? q.outcome;
  const filters: AuditQueryFilters = {
    ...(q.principal !== undefined ? { principal: q.principal } : {}),
    ...(q.root !== undefined ? { root: q.root } : {}),
    ...(q.goal !== undefined ? { goal: q.goal } : {}),
    ...(q.intent !== undefined ? { intent: q.intent } : {}),
    ...(q.action !== undefined ? { action: q.action } : {}),
    ...(outcome !== undefined ? { outcome } : {}),
    ...(q.policy !== undefined ? { policy: q.policy } : {}),
    ...(q.from !== undefined ? { from: q.from } : {}),
    ...(q.to !== undefined ? { to: q.to } : {}),
  };
  return { filters, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}), ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}) };
}

/** Builds the router. Mount it on the decision API (or any express app with the platform error handler). */
export function createDecisionsRouter(deps: DecisionsRouterDeps): Router {
  const router = express.Router();
  const guard: RequestHandler[] = deps.auth ? [deps.auth] : [];
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxBuffer = deps.maxStreamBufferBytes ?? 1024 * 1024;

  router.get('/v1/decisions', ...guard, async (req, res) => {
    const { filters, cursor, limit } = parseQuery(req, { paging: true });
    const page = await deps.query.query(filters, cursor, limit ?? deps.defaultLimit ?? 100);
    res.json({ decisions: page.records, ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) });
  });

  router.get('/v1/decisions/stream', ...guard, (req, res) => {
    const { filters } = parseQuery(req, { paging: false });
    if (!deps.live) throw new UnavailableError('live decisions are not available on this instance');
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write(': connected\n\n');
    const close = () => {
      unsubscribe();
      clearInterval(heartbeat);
      if (!res.writableEnded) res.end();
    };
    const unsubscribe = deps.live.subscribe((record) => {
      if (record.kind !== 'decision' || !matchesFilters(record as AuditRecord, filters)) return;
      if (res.writableLength > maxBuffer) {
        (res.locals.log as { warn?: (o: object, m: string) => void } | undefined)?.warn?.(
          { bufferedBytes: res.writableLength },
          'closing a decisions stream whose client reads too slowly',
        );
        close();
        return;
      }
      res.write(`id: ${record.writer}:${record.seq}\nevent: decision\ndata: ${JSON.stringify(record)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    req.on('close', close);
  });

  router.get('/v1/decisions/:id', ...guard, async (req, res) => {
    const id = String(req.params.id);
    if (id.length > 512)
      throw new InvalidInputError('invalid path parameter `id`', [{ path: '/id', message: 'longer than 512 characters' }]);
    const record = await deps.query.get(id);
    if (!record) throw new NotFoundError(`no decision \`${id.slice(0, 128)}\``);
    res.json(record);
  });

  return router;
}
