import type { IncomingMessage } from 'node:http';
import type { AuthorizeInput, DecisionPoint, DecisionRecorder, UsageSink } from '@argus/contracts';
import { OpenList, type Logger, type OpenEntry, type Registry } from '@argus/platform';
import type { SecretsBroker } from '@argus/secrets';
import { LRUCache } from 'lru-cache';
import type { CallState } from './call.ts';
import type { ProxyConfig } from './config.ts';
import type { Authenticate } from './identity.ts';
import type { CallJournal } from './journal.ts';
import { ChangedTools, type McpToolCatalogue } from './mcp-lists.ts';
import { proxyMetrics, type ProxyMetrics } from './metrics.ts';
import { createPriceTable, type PriceTable } from './prices.ts';

/** Everything the proxy needs, injected by the composition root. */
export interface ProxyDeps {
  config: Readonly<ProxyConfig>;
  /** Decides every call; asked with `audit: false` because the proxy writes the record itself. */
  decisionPoint: DecisionPoint;
  secrets: SecretsBroker;
  /**
   * Receives one event per decision once the upstream has answered (or the call was refused).
   * Absent when the audit trail is switched off: then no event is built (nor scrubbed).
   */
  recorder?: DecisionRecorder;
  /**
   * The journal of forwarded calls (`journal.ts`): each decision a call goes up under is written
   * there before the upstream sees it, so a crash cannot lose its record. Absent: no journal.
   */
  journal?: CallJournal;
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
  /**
   * The kill switches as the decision point sees them (`argus serve`): a call in flight that a
   * switch now stops (its agent, tool, server, or everything) is cut at once. Absent (the
   * standalone proxy): a stop applies to the next decisions only.
   */
  switches?: SwitchWatch;
  /**
   * Agents whose trust changed (`argus serve`: the registry's events): a call in flight made by,
   * or on the authority of, an agent now revoked, quarantined or deleted is cut at once.
   */
  agents?: AgentWatch;
  /** The clock in ms since the epoch (tests). */
  now?: () => number;
}

/** An agent's trust moved (`trust` when known) or the agent was deleted. */
export interface AgentChange {
  id: string;
  trust?: string;
  deleted?: boolean;
}

/** What the proxy needs of the registry's events. */
export interface AgentWatch {
  /** Calls `listener` when an agent's trust changes or it is deleted; answers the unsubscribe. */
  onChange(listener: (change: AgentChange) => void): () => void;
}

/** What the proxy needs of the switch snapshot (the decision point's `SwitchBoard`). */
export interface SwitchWatch {
  /** The verdict on a decision input now: `switch_stopped` with its sentence, or nothing. */
  check(input: AuthorizeInput): { code: string; message: string } | undefined;
  /** Calls `listener` after each read of the switch store; answers the unsubscribe. */
  onRead(listener: () => void): () => void;
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
  /** The call of each forwarded request, for the http-proxy-middleware events (none: nothing was decided). */
  readonly states: CallStates;
  /** MCP session id → the agent that opened it: a session cannot be used by another agent. */
  readonly mcpSessions: LRUCache<string, string>;
  /** Tools seen changed by a list, refused on `tools/call` until a list shows them re-approved. */
  readonly changedTools: ChangedTools;
  readonly prices: PriceTable;
  /** Models already warned about having no price (bounded: one warning each, not one per call). */
  readonly unpriced: LRUCache<string, true>;
  /** Calls forwarded and not finished: what a shutdown drains, then aborts. */
  readonly inFlight: InFlightCalls;
}

/** The context of one proxy built from `deps`. */
export function createProxyContext(deps: ProxyDeps): ProxyContext {
  return {
    deps,
    config: deps.config,
    now: deps.now ?? Date.now,
    metrics: proxyMetrics(deps.metrics),
    scrubber: deps.secrets.scrubber,
    states: callStates(),
    mcpSessions: new LRUCache<string, string>({ max: 10_000 }),
    changedTools: new ChangedTools(),
    prices: createPriceTable(deps.config.prices),
    unpriced: new LRUCache<string, true>({ max: 1000 }),
    inFlight: new InFlightCalls(),
  };
}

/** The call bound to a request (see {@link callStates}). */
export interface CallStates {
  get(req: IncomingMessage): CallState | undefined;
  set(req: IncomingMessage, state: CallState): void;
}

/**
 * Binds calls to their requests through a property of the request (a symbol of this proxy's own),
 * not a `WeakMap`: a call reaches its request again (through its response), and V8's young-generation
 * GC keeps a `WeakMap` value alive while its key is, so every forwarded call and its request
 * survived until the next full GC (~9 KB promoted per call, ~40 µs of GC per call in bench/proxy).
 */
export function callStates(): CallStates {
  const slot = Symbol('argus.callState');
  type Bound = IncomingMessage & { [slot]?: CallState };
  return {
    get: (req) => (req as Bound)[slot],
    set: (req, state) => {
      (req as Bound)[slot] = state;
    },
  };
}

const ENTRY = Symbol('argus.inFlight');
type Entered = CallState & { [ENTRY]?: OpenEntry<CallState> };

/**
 * The calls in flight, in insertion order: an {@link OpenList} (not a `Set`, whose outgrown tables
 * kept the calls they held, with their requests and responses, alive in the young generation until
 * the next full GC), each call holding its own entry. Iteration walks a snapshot, so calls may be
 * removed on the way.
 */
export class InFlightCalls implements Iterable<CallState> {
  readonly #calls = new OpenList<CallState>();

  /** How many calls are in flight. */
  get size(): number {
    return this.#calls.size;
  }

  add(state: CallState): void {
    const entered = state as Entered;
    if (entered[ENTRY]) return;
    entered[ENTRY] = this.#calls.add(state);
  }

  /** Removes `state`; false when it was not in flight. */
  delete(state: CallState): boolean {
    const entered = state as Entered;
    const entry = entered[ENTRY];
    if (!entry) return false;
    entered[ENTRY] = undefined;
    return this.#calls.remove(entry);
  }

  [Symbol.iterator](): Iterator<CallState> {
    return this.#calls[Symbol.iterator]();
  }
}
