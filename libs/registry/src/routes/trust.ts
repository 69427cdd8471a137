import type { Router } from 'express';
import { asyncRoute, ConflictError, ForbiddenError, NotFoundError, principalOf, requireAdmin, requireAuth } from '@argus/platform';
import type { TrustKind, TrustState } from '@argus/store';
import { pathId, queryOf, sendRecord, validate, type ResolvedDeps } from '../deps.ts';
import { page } from './humans.ts';

/**
 * The routes agents and MCP servers share: `POST /:id/trust` (admin; legal transitions only),
 * `GET /:id/history` and `POST /:id/lease` (heartbeat: an agent for itself, scanners and admins
 * for anyone).
 */
export function mountTrustRoutes(r: Router, kind: TrustKind, deps: ResolvedDeps): void {
  const get = (id: string) => (kind === 'agent' ? deps.store.getAgent(id) : deps.store.getMcpServer(id));

  r.post(
    '/:id/trust',
    requireAdmin(deps.auth),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const body = validate<{ to: TrustState; reason: string }>('trust-change', req.body);
      const { record, transition } = await deps.store.setTrust(kind, id, {
        to: body.to,
        reason: body.reason,
        by: principalOf(res).subject,
      });
      sendRecord(res, 200, record, { transition });
      await deps.changed({ kind, id, change: 'trust', trust: record.trust });
    }),
  );

  r.get(
    '/:id/history',
    requireAuth(deps.auth),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const q = validate<{ limit?: string; cursor?: string }>('page-query', queryOf(req), 'query');
      const history = await deps.store.trustHistory(kind, id, page(q));
      if (history.items.length === 0 && !q.cursor && !(await get(id))) throw new NotFoundError(`${kind} \`${id}\` not found`);
      res.json(history);
    }),
  );

  r.post(
    '/:id/lease',
    requireAuth(deps.auth),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const principal = principalOf(res);
      const self = kind === 'agent' && principal.kind === 'agent' && principal.subject === id;
      if (!self && principal.kind !== 'admin' && principal.kind !== 'scanner') {
        throw new ForbiddenError(
          kind === 'agent' ? 'an agent may only heartbeat for itself' : 'only scanners and admins heartbeat for MCP servers',
        );
      }
      const body = validate<{ ttlMs?: number }>('lease-renew', req.body ?? {});
      const record = await get(id);
      if (!record) throw new NotFoundError(`${kind} \`${id}\` not found`);
      if (record.trust === 'revoked') throw new ConflictError(`${kind} \`${id}\` is revoked`, [{ path: '/params/id', message: 'revoked' }]);
      const lease = await deps.leases.renew(kind, id, body.ttlMs ?? deps.limits.defaultLeaseTtlMs);
      res.json({ kind, id, ...lease });
    }),
  );
}
