import type { IncomingMessage } from 'node:http';
import type { DecisionPoint, DecisionRecorder, UsageSink } from '@argus/contracts';
import type { Logger, Registry } from '@argus/platform';
import type { SecretsBroker } from '@argus/secrets';
import { LRUCache } from 'lru-cache';
import type { CallState } from './call.ts';
import type { ProxyConfig } from './config.ts';
import type { Authenticate } from './identity.ts';
import { ChangedTools, type McpToolCatalogue } from './mcp-lists.ts';
import { proxyMetrics, type ProxyMetrics } from './metrics.ts';
import { createPriceTable, type PriceTable } from './prices.ts';

/** Everything the proxy needs, injected by the composition root. */
export interface ProxyDeps {
  config: Readonly<ProxyConfig>;
  /** Decides every call; asked with `audit: false` because the proxy writes the record itself. */
  decisionPoint: DecisionPoint;
  secrets: SecretsBroker;
  /** Receives one event per decision once the upstream has answered (or the call was refused). */
  recorder: DecisionRecorder;
  /** Receives token usage for calls made under a goal. */
  usage: UsageSink;
  logger: Logger;
  metrics: Registry;
  authenticate: Authenticate;
  /**
   * The registry's MCP tools, for the runtime rug-pull check of `tools/list` (see `mcp-lists.ts`).
   * Without it lists are still filtered by the policies, item by item, but not compared.
   */
  tools?: McpToolCatalogue;
  /** The clock in ms since the epoch (tests). */
  now?: () => number;
}

/**
 * The proxy's components and the state it shares across calls: built once by `createProxyApp`
 * and handed to every step of a call (the steps hold no state of their own).
 */
export interface ProxyContext {
  readonly deps: ProxyDeps;
  readonly config: Readonly<ProxyConfig>;
  readonly now: () => number;
  readonly metrics: ProxyMetrics;
  readonly scrubber: SecretsBroker['scrubber'];
  /** The call of each forwarded request, for the http-proxy-middleware events (no entry: nothing was decided). */
  readonly states: WeakMap<IncomingMessage, CallState>;
  /** MCP session id → the agent that opened it: a session cannot be used by another agent. */
  readonly mcpSessions: LRUCache<string, string>;
  /** Tools seen changed by a list, refused on `tools/call` until a list shows them re-approved. */
  readonly changedTools: ChangedTools;
  readonly prices: PriceTable;
  /** Models already warned about having no price (bounded: one warning each, not one per call). */
  readonly unpriced: LRUCache<string, true>;
  /** Calls forwarded and not finished: what a shutdown drains, then aborts. */
  readonly inFlight: Set<CallState>;
}

/** The context of one proxy built from `deps`. */
export function createProxyContext(deps: ProxyDeps): ProxyContext {
  return {
    deps,
    config: deps.config,
    now: deps.now ?? Date.now,
    metrics: proxyMetrics(deps.metrics),
    scrubber: deps.secrets.scrubber,
    states: new WeakMap(),
    mcpSessions: new LRUCache<string, string>({ max: 10_000 }),
    changedTools: new ChangedTools(),
    prices: createPriceTable(deps.config.prices),
    unpriced: new LRUCache<string, true>({ max: 1000 }),
    inFlight: new Set(),
  };
}
