import { asyncRoute, ArgusError, InvalidInputError, NotFoundError, requireAdmin } from '@argus/platform';
import type { McpServer, McpTool } from '@argus/store';
import { Router } from 'express';
import { asPrecondition, ifMatch, pathId, sendRecord, validate, type ResolvedDeps } from '../deps.ts';

/** The governance attributes an admin sets on one tool: a value replaces, `null` clears, absent keeps. */
export interface ToolAttributesPatch {
  sensitivity?: McpTool['sensitivity'] | null;
  allowedIntents?: string[] | null;
  category?: string | null;
  labels?: Record<string, string> | null;
}

const ATTRIBUTES = ['sensitivity', 'allowedIntents', 'category', 'labels'] as const;
const TOOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
const ATTEMPTS = 3;

/** `tool` with `patch` applied; name, description, input schema and hash untouched. */
export function withAttributes(tool: McpTool, patch: ToolAttributesPatch): McpTool {
  const out: Record<string, unknown> = { ...tool };
  for (const key of ATTRIBUTES) {
    if (!(key in patch)) continue;
    if (patch[key] === null) delete out[key];
    else out[key] = patch[key];
  }
  return out as unknown as McpTool;
}

/**
 * `PATCH /v1/registry/mcp-servers/{id}/tools/{name}`: an admin sets what discovery cannot know —
 * a tool's sensitivity, the intents it serves, its category and labels (given to Cedar as the
 * Tool's attributes). The tool's description hash is not touched, so this never changes trust;
 * concurrent writes are retried on the record's version (or refused with 412 under `If-Match`).
 */
export function toolAttributesRouter(deps: ResolvedDeps): Router {
  const r = Router();
  r.patch(
    '/:id/tools/:tool',
    requireAdmin(deps.auth),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const name = req.params.tool;
      if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
        throw new InvalidInputError('invalid tool name', [
          { path: '/params/tool', message: 'must be 1-128 characters: letters, digits and _ . : / -' },
        ]);
      }
      const patch = validate<ToolAttributesPatch>('mcp-tool-attributes', req.body);
      const expected = ifMatch(req);
      const server = await update(deps, id, name, patch, expected);
      sendRecord(res, 200, server);
      await deps.changed({ kind: 'mcp-server', id, change: 'updated', trust: server.trust });
    }),
  );
  return r;
}

/** Writes the patched tool list on the version just read; a lost race is read again (at most {@link ATTEMPTS} times). */
async function update(
  deps: ResolvedDeps,
  id: string,
  name: string,
  patch: ToolAttributesPatch,
  expected: number | undefined,
): Promise<McpServer> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.store.getMcpServer(id);
    if (!current) throw new NotFoundError(`mcp-server \`${id}\` not found`);
    const at = current.tools.findIndex((t) => t.name === name);
    if (at < 0)
      throw new ArgusError('not_found', `mcp-server \`${id}\` has no tool \`${name}\``, {
        errors: [{ path: '/params/tool', message: 'no such tool on this server' }],
      });
    const tools = current.tools.map((t, i) => (i === at ? withAttributes(t, patch) : t));
    try {
      return await deps.store.updateMcpServer(id, { tools }, { expectedVersion: expected ?? current.version });
    } catch (err) {
      const lostRace = err instanceof ArgusError && err.code === 'conflict' && expected === undefined && attempt < ATTEMPTS;
      if (!lostRace) throw asPrecondition(err, expected);
    }
  }
}
