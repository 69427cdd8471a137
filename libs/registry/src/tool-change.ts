import {
  TOPICS,
  diffTools,
  hashTools,
  isEmptyDiff,
  keepGovernance,
  stateAfterToolChange,
  type EventBus,
  type McpServer,
  type McpServerPatch,
  type McpTool,
  type McpToolInput,
  type RegistryChangedEvent,
  type RegistryStore,
  type ToolDiff,
  type TrustState,
} from '@argus/store';

/** What recording a server's live tool list needs. */
export interface LiveToolsDeps {
  store: Pick<RegistryStore, 'updateMcpServer'>;
  /** Where a trusted server goes when its tools changed. */
  onToolChange: 'pending' | 'quarantined';
  /** Told of every change written (`registry.changed`), so cached views forget the old record. */
  changed(event: RegistryChangedEvent): Promise<void>;
}

/** The outcome of {@link recordLiveTools}. */
export interface LiveToolsOutcome {
  server: McpServer;
  diff: ToolDiff;
  /** True when the live list differs from the registry's (added, removed or changed tools). */
  toolsChanged: boolean;
}

/**
 * Each tool as discovery observes it: its name, description, input schema and their hash. What a
 * scanner or the proxy reports beyond that (sensitivity, allowedIntents, category, labels: the
 * governance attributes decisions read) is dropped; only an admin sets those.
 */
export function observedTools(tools: readonly McpTool[]): McpTool[] {
  return tools.map(({ name, description, inputSchema, hash }) => ({ name, description, inputSchema, hash }));
}

/**
 * Records the live tool list of a known MCP server — the "rug-pull" check shared by the scanners'
 * upsert and the proxy's runtime check: the diff against the registry's hashes; when it is not
 * empty, a trusted server moves to `onToolChange` (a quarantined or revoked one stays) with the
 * diff in its trust history, and the tool list becomes the live one, so the trust move back to
 * `trusted` is what approves the new tools. Governance attributes are the registry's: a tool keeps
 * those it had, whatever the report says ({@link observedTools}); a new tool has none. `patch` carries the other
 * fields a scanner refreshes. Throws `ConflictError` when `existing` is stale (the caller retries).
 */
export async function recordLiveTools(
  deps: LiveToolsDeps,
  existing: McpServer,
  tools: McpTool[],
  by: string,
  patch: Omit<McpServerPatch, 'tools'> = {},
): Promise<LiveToolsOutcome> {
  const diff = diffTools(existing.tools, tools);
  const toolsChanged = !isEmptyDiff(diff);
  const trust = toolsChanged
    ? { to: stateAfterToolChange(existing.trust, deps.onToolChange), by, reason: toolChangeReason(diff), diff }
    : undefined;
  const server = await deps.store.updateMcpServer(
    existing.id,
    { ...patch, tools: keepGovernance(existing.tools, observedTools(tools)) },
    { expectedVersion: existing.version, ...(trust ? { trust } : {}) },
  );
  return { server, diff, toolsChanged };
}

/** The trust history's reason for a tool change: `tool list changed: +added -removed ~changed`. */
export function toolChangeReason(diff: ToolDiff): string {
  return `tool list changed: ${[...diff.added.map((n) => `+${n}`), ...diff.removed.map((n) => `-${n}`), ...diff.changed.map((n) => `~${n}`)].join(' ')}`.slice(
    0,
    1000,
  );
}

/** The MCP tool catalogue as the enforcement proxy reads and reports it (its `McpToolCatalogue` port). */
export interface ProxyToolCatalogue {
  server(id: string): Promise<{ trust: TrustState; tools: Array<{ name: string; hash: string }> } | undefined>;
  liveToolsChanged(id: string, tools: McpToolInput[], complete: boolean): Promise<{ trust: TrustState; diff: ToolDiff } | undefined>;
}

/**
 * The registry as the in-process proxy's tool catalogue (`argus serve`): reads go to the store
 * (never a cache, so a changed tool is compared with what the registry holds now); a drift is
 * recorded with {@link recordLiveTools} by `by` and published on `events`. A page of a paged list
 * (`complete: false`) replaces and adds the tools it holds; only a complete list removes tools.
 */
export function registryToolCatalogue(options: {
  store: Pick<RegistryStore, 'getMcpServer' | 'updateMcpServer'>;
  events?: EventBus;
  onToolChange?: 'pending' | 'quarantined';
  by?: string;
}): ProxyToolCatalogue {
  const deps: LiveToolsDeps = {
    store: options.store,
    onToolChange: options.onToolChange ?? 'pending',
    changed: async (event) => {
      await options.events?.publish(TOPICS.registryChanged, event);
    },
  };
  return {
    async server(id) {
      const server = await options.store.getMcpServer(id);
      return server ? { trust: server.trust, tools: server.tools.map((t) => ({ name: t.name, hash: t.hash })) } : undefined;
    },
    async liveToolsChanged(id, tools, complete) {
      const existing = await options.store.getMcpServer(id);
      if (!existing) return undefined;
      const live = hashTools(tools);
      const names = new Set(live.map((t) => t.name));
      const next = complete ? live : [...existing.tools.filter((t) => !names.has(t.name)), ...live];
      const out = await recordLiveTools(deps, existing, next, options.by ?? 'proxy');
      if (out.toolsChanged)
        await deps.changed({
          kind: 'mcp-server',
          id,
          change: out.server.trust !== existing.trust ? 'trust' : 'updated',
          trust: out.server.trust,
        });
      return { trust: out.server.trust, diff: out.diff };
    },
  };
}
