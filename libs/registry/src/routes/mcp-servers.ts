import { Router } from 'express';
import { asyncRoute, principalOf, requireAdmin, requireAuth, requireRole } from '@argus/platform';
import { hashTools, type McpServer, type McpServerQuery, type McpToolInput, type McpTransport, type TrustState } from '@argus/store';
import { checkServerUrl, checkToolCount, ifMatch, pathId, queryOf, sendRecord, validate, type ResolvedDeps } from '../deps.ts';
import { page } from './humans.ts';
import { deleteRoute, readRoute, retryOnConflict, sendCreated, sendReported, updateExpecting } from './record-routes.ts';
import { mountTrustRoutes } from './trust.ts';
import { observedTools, recordLiveTools } from '../tool-change.ts';

interface ServerBody {
  id: string;
  name: string;
  url: string;
  transport?: McpTransport;
  trust?: TrustState;
  tools?: McpToolInput[];
}
type PatchBody = Partial<Omit<ServerBody, 'id' | 'trust'>>;
type UpsertBody = Omit<ServerBody, 'id' | 'trust'> & { tools: McpToolInput[] };

/**
 * `/v1/registry/mcp-servers`: CRUD, the scanners' idempotent upsert with the "rug-pull" check
 * (a known server whose tool list or any tool hash changed is demoted and the diff recorded),
 * trust, history and leases. URLs are validated and never fetched.
 */
export function mcpServersRouter(deps: ResolvedDeps): Router {
  const r = Router();
  const admin = requireAdmin(deps.auth);
  const reader = requireAuth(deps.auth);

  r.post(
    '/',
    admin,
    asyncRoute(async (req, res) => {
      const body = validate<ServerBody>('mcp-server-create', req.body);
      checkServerUrl(body.url);
      checkToolCount(body.tools, deps.limits.maxTools);
      await sendCreated(
        res,
        deps,
        'mcp-server',
        await deps.store.createMcpServer({ ...body, tools: hashTools(body.tools ?? []) }, principalOf(res).subject),
      );
    }),
  );

  r.get(
    '/',
    reader,
    asyncRoute(async (req, res) => {
      const q = validate<Record<string, string>>('mcp-servers-query', queryOf(req), 'query');
      const query: McpServerQuery = { ...page(q) };
      if (q.trust) query.trust = q.trust as TrustState;
      if (q.transport) query.transport = q.transport as McpTransport;
      if (q.discoveredBy) query.discoveredBy = q.discoveredBy;
      res.json(await deps.store.listMcpServers(query));
    }),
  );

  r.get(
    '/:id',
    reader,
    readRoute(deps, 'mcp-server', (id) => deps.store.getMcpServer(id)),
  );

  r.patch(
    '/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const expected = ifMatch(req);
      const body = validate<PatchBody>('mcp-server-patch', req.body);
      if (body.url !== undefined) checkServerUrl(body.url);
      checkToolCount(body.tools, deps.limits.maxTools);
      const { tools, ...rest } = body;
      // An admin edit of the tools is a review: it changes the hashes without demoting.
      const server = await updateExpecting(expected, (options) =>
        deps.store.updateMcpServer(id, { ...rest, ...(tools ? { tools: hashTools(tools) } : {}) }, options),
      );
      sendRecord(res, 200, server);
      await deps.changed({ kind: 'mcp-server', id, change: 'updated', trust: server.trust });
    }),
  );

  r.delete(
    '/:id',
    admin,
    deleteRoute(
      deps,
      'mcp-server',
      (id) => deps.store.getMcpServer(id),
      (id) => deps.store.deleteMcpServer(id),
    ),
  );

  r.put(
    '/:id',
    requireRole(deps.auth, 'scanner'),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const body = validate<UpsertBody>('mcp-server-upsert', req.body);
      checkServerUrl(body.url);
      checkToolCount(body.tools, deps.limits.maxTools);
      const by = principalOf(res).subject;
      // What discovery observes; governance attributes are an admin's (observedTools).
      const tools = observedTools(hashTools(body.tools));
      const lastSeen = deps.clock().toISOString();
      await retryOnConflict(async () => {
        // An endpoint already registered under another id (an admin's record, or an older scan)
        // is the same server: reconcile onto it, so its tool list is compared and never duplicated.
        const existing = (await deps.store.getMcpServer(id)) ?? (await sameEndpoint(deps, body.url));
        if (!existing) {
          const server = await deps.store.createMcpServer({ ...body, id, tools, discoveredBy: by, lastSeen }, by);
          return sendReported(res, deps, 'mcp-server', 201, server, 'created');
        }
        const sameFields =
          existing.name === body.name &&
          existing.url === body.url &&
          (body.transport === undefined || existing.transport === body.transport);
        const { server, diff, toolsChanged } = await recordLiveTools(deps, existing, tools, by, {
          name: body.name,
          url: body.url,
          ...(body.transport ? { transport: body.transport } : {}),
          lastSeen,
        });
        const change = server.trust !== existing.trust ? 'trust' : toolsChanged || !sameFields ? 'updated' : 'seen';
        await sendReported(res, deps, 'mcp-server', 200, server, change, toolsChanged ? { toolsChanged: diff } : {});
      });
    }),
  );

  mountTrustRoutes(r, 'mcp-server', deps);
  return r;
}

/** The one server already registered at `url` (normalized), if exactly one is. */
async function sameEndpoint(deps: ResolvedDeps, url: string): Promise<McpServer | undefined> {
  const found = await deps.store.listMcpServers({ url, limit: 2 });
  return found.items.length === 1 ? found.items[0] : undefined;
}
