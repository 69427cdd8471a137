import { asyncRoute, ForbiddenError, NotFoundError, principalOf, requireAuth } from '@argus/platform';
import type { McpToolInput } from '@argus/store';
import { Router } from 'express';
import { checkToolCount, pathId, validate, type ResolvedDeps } from '../deps.ts';
import { registryToolCatalogue } from '../tool-change.ts';

/**
 * `POST /v1/registry/mcp-servers/{id}/live-tools`: the standalone proxy reports the tool list an
 * MCP server answered (the runtime rug-pull check of `argus serve`, over HTTP). The list is
 * compared with the registry exactly as a scanner's report is (`recordLiveTools`): a change on a
 * trusted server moves it to `pending` (or `registry.onToolChange`) with the diff in its history.
 * Admins, scanners and the service `proxy` only.
 */
export function liveToolsRouter(deps: ResolvedDeps): Router {
  const r = Router();
  r.post(
    '/:id/live-tools',
    requireAuth(deps.auth),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const caller = principalOf(res);
      if (caller.kind === 'service' && caller.subject !== 'proxy')
        throw new ForbiddenError('only the service `proxy` reports live tool lists');
      const body = validate<{ tools: McpToolInput[]; complete: boolean }>('mcp-live-tools', req.body);
      checkToolCount(body.tools, deps.limits.maxTools);
      const catalogue = registryToolCatalogue({
        store: deps.store,
        events: deps.events,
        onToolChange: deps.onToolChange,
        by: `${caller.kind}:${caller.subject}`,
      });
      const outcome = await catalogue.liveToolsChanged(id, body.tools, body.complete);
      if (!outcome) throw new NotFoundError(`mcp-server \`${id}\` not found`);
      res.json({ id, trust: outcome.trust, diff: outcome.diff });
    }),
  );
  return r;
}
