import type {
  Agent,
  EventBus,
  Human,
  LeaseState,
  LeaseStore,
  McpServer,
  RegistryChangedEvent,
  RegistryKind,
  RegistryStore,
} from './ports.ts';
import { LRUCache } from 'lru-cache';
import { TOPICS } from './ports.ts';
import type { Clock } from './paging.ts';
import type { Page } from './ports.ts';

/** Options of {@link RegistryView}. */
export interface RegistryViewOptions {
  store: Pick<RegistryStore, 'getAgent' | 'getMcpServer' | 'getHuman' | 'changeToken'>;
  leases: LeaseStore;
  /** When set, `registry.changed` events evict the entries they name. */
  events?: EventBus;
  /**
   * Bound on cached records of each kind (agents, MCP servers and humans are bounded separately):
   * one number for every kind, or per kind. Defaults: {@link DEFAULT_REGISTRY_VIEW_ENTRIES}.
   */
  maxEntries?: number | Partial<Record<RegistryKind, number>>;
  /**
   * How long a cached record (or a cached "absent") may be served. Default 10 s. Past it, a store
   * with a `changeToken` that has not changed since the record was loaded renews the entry
   * without a read; any other store's record is read again.
   */
  ttlMs?: number;
  clock?: Clock;
}

/** Counters for metrics and tests. */
export interface RegistryViewStats {
  hits: number;
  /** Hits past the TTL served because the store's change token had not moved (counted in `hits` too). */
  renewals: number;
  misses: number;
  evictions: number;
  invalidations: number;
  size: number;
}

interface Entry {
  value: unknown;
  expiresAt: number;
  /** The store's change token read before the value was loaded. */
  token: string | undefined;
}

/**
 * Records of each kind a view caches by default (see {@link RegistryViewOptions.maxEntries}): a
 * parsed agent record is ~1 KB, and lru-cache allocates its index for the bound up front (~25 bytes
 * an entry), so the bound is the registry size a view serves from memory at no idle cost worth naming.
 */
export const DEFAULT_REGISTRY_VIEW_ENTRIES: Readonly<Record<RegistryKind, number>> = { agent: 50_000, human: 10_000, 'mcp-server': 10_000 };

const KINDS: readonly RegistryKind[] = ['agent', 'mcp-server', 'human'];

/**
 * The read side of the registry for the decision path: parsed records through a bounded LRU cache
 * per kind with a TTL, evicted by `registry.changed` events (in-process or from other replicas over
 * Redis), and lease states read through to the lease store (never cached, so `unknown` shows at once).
 *
 * One LRU per kind, so the agents a workload cycles through never push out the few humans and
 * servers every decision reads, and the default bound holds a large registry's working set: an LRU
 * smaller than a working set read in turn answers every read from the store (each one a query and a
 * JSON parse of the stored record).
 *
 * INVARIANT: a load that started before an invalidation never populates the cache, so once an
 * event has been handled no read answers the record as it was before the change.
 */
export class RegistryView {
  private readonly caches: Record<RegistryKind, LRUCache<string, Entry>>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly ttlMs: number;
  /** Milliseconds on the injected clock (`Date.now` without one: no `Date` per read). */
  private readonly now: () => number;
  private readonly unsubscribe: (() => void) | undefined;
  private readonly unsubscribeResync: (() => void) | undefined;
  private generation = 0;
  private readonly counters = { hits: 0, renewals: 0, misses: 0, evictions: 0, invalidations: 0 };

  constructor(private readonly options: RegistryViewOptions) {
    // The TTL stays in the entry (`expiresAt`, on the injected clock); lru-cache bounds the size.
    const bound = options.maxEntries;
    const cache = (kind: RegistryKind) =>
      new LRUCache<string, Entry>({
        max: Math.max(1, (typeof bound === 'number' ? bound : bound?.[kind]) ?? DEFAULT_REGISTRY_VIEW_ENTRIES[kind]),
        dispose: (_value, _key, reason) => {
          if (reason === 'evict') this.counters.evictions++;
        },
      });
    this.caches = { agent: cache('agent'), 'mcp-server': cache('mcp-server'), human: cache('human') };
    this.ttlMs = Math.max(0, options.ttlMs ?? 10_000);
    const clock = options.clock;
    this.now = clock ? () => clock().getTime() : Date.now;
    this.unsubscribe = options.events?.subscribe(TOPICS.registryChanged, (payload) => this.onChanged(payload));
    // Events may have been missed while the bus was disconnected: forget everything.
    this.unsubscribeResync = options.events?.onResync?.(() => this.invalidate());
  }

  /** The agent record, or undefined when the registry does not know it. */
  getAgent(id: string): Promise<Agent | undefined> {
    return this.read('agent', id, () => this.options.store.getAgent(id));
  }

  /** The MCP server record, or undefined. */
  getMcpServer(id: string): Promise<McpServer | undefined> {
    return this.read('mcp-server', id, () => this.options.store.getMcpServer(id));
  }

  /** The human record, or undefined. */
  getHuman(id: string): Promise<Human | undefined> {
    return this.read('human', id, () => this.options.store.getHuman(id));
  }

  /**
   * Loads the agents `list` pages through into the cache, up to its bound, a page per turn of the
   * event loop: a replica that starts (or restarts) serves its first decision for each agent from
   * memory instead of a store read (a query and a parse; a round trip with MongoDB), and its heap
   * grows to hold them at start rather than under its first traffic. A page whose read began
   * before an invalidation is skipped (the same rule as a read). Resolves with how many were
   * loaded; a failed page ends the warm-up there (reads load the rest as usual).
   */
  async warm(list: (cursor: string | undefined) => Promise<Page<Agent>>): Promise<number> {
    const cache = this.caches.agent;
    let cursor: string | undefined;
    let loaded = 0;
    do {
      const generation = this.generation;
      const token = this.options.store.changeToken?.();
      const page = await list(cursor);
      for (const agent of generation === this.generation ? page.items : []) {
        if (cache.size >= cache.max) return loaded;
        if (cache.has(agent.id)) continue;
        this.store(cache, agent.id, agent, token);
        loaded++;
      }
      cursor = page.nextCursor;
      if (cursor !== undefined) await new Promise((resolve) => setImmediate(resolve));
    } while (cursor !== undefined);
    return loaded;
  }

  /** The live lease state; `unknown` when the lease store cannot be reached (fail closed). */
  leaseState(kind: string, id: string): Promise<LeaseState> {
    return this.options.leases.get(kind, id);
  }

  /** Evicts one record, or everything when called without arguments. */
  invalidate(kind?: RegistryKind, id?: string): void {
    this.generation++;
    this.counters.invalidations++;
    if (kind === undefined || id === undefined) {
      for (const k of KINDS) this.caches[k].clear();
      this.inflight.clear();
      return;
    }
    // An event naming a kind this view does not cache (a later kind) forgets everything of that id.
    for (const k of Object.hasOwn(this.caches, kind) ? [kind] : KINDS) this.caches[k].delete(id);
    this.inflight.delete(`${kind}\u0000${id}`);
  }

  /** Hit/miss/eviction counters and the current size. */
  stats(): RegistryViewStats {
    return { ...this.counters, size: KINDS.reduce((n, k) => n + this.caches[k].size, 0) };
  }

  /** Stops listening to events and drops the cache. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribeResync?.();
    for (const k of KINDS) this.caches[k].clear();
    this.inflight.clear();
  }

  private onChanged(payload: unknown): void {
    const event = payload as Partial<RegistryChangedEvent> | null;
    if (!event || typeof event !== 'object' || typeof event.kind !== 'string' || typeof event.id !== 'string') {
      // Unreadable event: the safe reaction is to forget everything.
      this.invalidate();
      return;
    }
    // A lastSeen-only refresh does not change anything a decision reads.
    if (event.change === 'seen') return;
    this.invalidate(event.kind as RegistryKind, event.id);
  }

  private async read<T>(kind: RegistryKind, id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const cache = this.caches[kind];
    const hit = cache.get(id);
    if (hit) {
      const now = this.now();
      if (hit.expiresAt > now) {
        this.counters.hits++;
        return hit.value as T | undefined;
      }
      // Past its TTL: still current if nothing was written since it was loaded (events cover this
      // process's writes; the token covers everyone's, including writes whose event was lost).
      if (hit.token !== undefined && hit.token === this.options.store.changeToken?.()) {
        hit.expiresAt = now + this.ttlMs;
        this.counters.hits++;
        this.counters.renewals++;
        return hit.value as T | undefined;
      }
      cache.delete(id);
    }
    this.counters.misses++;
    const key = `${kind}\u0000${id}`;
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T | undefined>;
    const generation = this.generation;
    const token = this.options.store.changeToken?.();
    const promise = load().then(
      (value) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
        if (generation === this.generation) this.store(cache, id, value, token);
        return value;
      },
      (err: unknown) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, promise);
    return promise;
  }

  private store(cache: LRUCache<string, Entry>, id: string, value: unknown, token: string | undefined): void {
    if (this.ttlMs === 0) return;
    cache.set(id, { value, expiresAt: this.now() + this.ttlMs, token });
  }
}

/** Builds a {@link RegistryView}. */
export function createRegistryView(options: RegistryViewOptions): RegistryView {
  return new RegistryView(options);
}
