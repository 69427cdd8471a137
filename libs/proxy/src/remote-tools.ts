import { UnavailableError } from '@argus/platform';
import type { McpToolInput, ToolDiff, TrustState } from '@argus/store';
import type { McpToolCatalogue } from './mcp-lists.ts';

/** Options of a tool catalogue reached over HTTP. */
export interface RemoteToolCatalogueOptions {
  /** Base URL of the registry, e.g. `http://registry:8182`. */
  url: string;
  timeoutMs: number;
  /** The proxy's service credential (`serviceTokens.proxy` of the registry). */
  token?: string;
  /** The fetch to use (tests). */
  fetch?: typeof fetch;
}

/**
 * The registry as the standalone proxy's tool catalogue: every `tools/list` reads the server's
 * record (`GET /v1/registry/mcp-servers/{id}`, never cached, so a changed tool is compared with
 * what the registry holds now) and a drift is reported to `.../live-tools`, where the registry
 * applies the same rug-pull check as for a scanner. An unreachable registry or an unexpected
 * answer rejects, and the proxy refuses the list (fail closed).
 */
export function createRemoteToolCatalogue(options: RemoteToolCatalogueOptions): McpToolCatalogue {
  const base = `${options.url.replace(/\/+$/, '')}/v1/registry/mcp-servers/`;
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  async function call<T>(what: string, path: string, init: { method: string; body?: string }): Promise<T | undefined> {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { ...init, headers, signal: AbortSignal.timeout(options.timeoutMs), redirect: 'error' });
    } catch (err) {
      throw new UnavailableError(`${what}: registry unreachable`, err);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new UnavailableError(`${what}: registry answered ${res.status}`);
    }
    return (await res.json()) as T;
  }

  return {
    async server(id) {
      const record = await call<{ trust: TrustState; tools: Array<{ name: string; hash: string }> }>(
        'MCP server record',
        encodeURIComponent(id),
        { method: 'GET' },
      );
      return record ? { trust: record.trust, tools: record.tools.map((t) => ({ name: t.name, hash: t.hash })) } : undefined;
    },
    async liveToolsChanged(id, tools: McpToolInput[], complete) {
      const live = tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }));
      const body = JSON.stringify({ tools: live, complete });
      return call<{ trust: TrustState; diff: ToolDiff }>('live tool list', `${encodeURIComponent(id)}/live-tools`, {
        method: 'POST',
        body,
      });
    },
  };
}
