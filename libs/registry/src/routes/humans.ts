import { Router } from 'express';
import { asyncRoute, ConflictError, requireAdmin, requireAuth, type ErrorDetail } from '@argus/platform';
import type { HumanPatch, NewHuman } from '@argus/store';
import { ifMatch, pathId, queryOf, sendRecord, validate, type ResolvedDeps } from '../deps.ts';
import { deleteRoute, readRoute, sendCreated, updateExpecting } from './record-routes.ts';

/** `/v1/registry/humans`: register, read, list, update and delete humans (writes need an admin). */
export function humansRouter(deps: ResolvedDeps): Router {
  const r = Router();
  const admin = requireAdmin(deps.auth);
  const reader = requireAuth(deps.auth);

  r.post(
    '/',
    admin,
    asyncRoute(async (req, res) => {
      const body = validate<NewHuman>('human-create', req.body);
      await sendCreated(res, deps, 'human', await deps.store.createHuman(body));
    }),
  );

  r.get(
    '/',
    reader,
    asyncRoute(async (req, res) => {
      const q = validate<{ role?: string; limit?: string; cursor?: string }>('humans-query', queryOf(req), 'query');
      res.json(await deps.store.listHumans({ ...(q.role ? { role: q.role } : {}), ...page(q) }));
    }),
  );

  r.get(
    '/:id',
    reader,
    readRoute(deps, 'human', (id) => deps.store.getHuman(id)),
  );

  r.patch(
    '/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const expected = ifMatch(req);
      const patch = validate<HumanPatch>('human-patch', req.body);
      const human = await updateExpecting(expected, (options) => deps.store.updateHuman(id, patch, options));
      sendRecord(res, 200, human);
      await deps.changed({ kind: 'human', id, change: 'updated' });
    }),
  );

  r.delete(
    '/:id',
    admin,
    deleteRoute(
      deps,
      'human',
      (id) => deps.store.getHuman(id),
      (id) => deps.store.deleteHuman(id),
      async (id) => {
        const owned = await deps.store.listAgents({ owner: id, limit: 1 });
        if (owned.items.length > 0) {
          const errors: ErrorDetail[] = [{ path: '/params/id', message: `owns agent \`${owned.items[0]!.id}\`` }];
          throw new ConflictError(`human \`${id}\` still owns agents; reassign or delete them first`, errors);
        }
      },
    ),
  );
  return r;
}

/** Converts validated paging query values. */
export function page(q: { limit?: string; cursor?: string }): { limit?: number; cursor?: string } {
  return { ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}), ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) };
}
