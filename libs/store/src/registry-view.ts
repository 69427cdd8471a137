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
import { systemClock, type Clock } from './paging.ts';

/** Options of {@link RegistryView}. */
export interface RegistryViewOptions {
  store: Pick<RegistryStore, 'getAgent' | 'getMcpServer' | 'getHuman'>;
  leases: LeaseStore;
  /** When set, `registry.changed` events evict the entries they name. */
  events?: EventBus;
  /** Bound on cached records (agents, servers and humans together). Default 10,000. */
  maxEntries?: number;
  /** How long a cached record (or a cached "absent") may be served. Default 10 s. */
  ttlMs?: number;
  clock?: Clock;
}

/** Counters for metrics and tests. */
export interface RegistryViewStats {
  hits: number;
  misses: number;
  evictions: number;
  invalidations: number;
  size: number;
}

interface Entry {
  value: unknown;
  expiresAt: number;
}

/**
 * The read side of the registry for the decision path: records through a bounded LRU cache with a
 * TTL, evicted by `registry.changed` events (in-process or from other replicas over Redis), and
 * lease states read through to the lease store (never cached, so `unknown` shows at once).
 *
 * INVARIANT: a load that started before an invalidation never populates the cache, so once an
 * event has been handled no read answers the record as it was before the change.
 */
export class RegistryView {
  private readonly cache: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly unsubscribe: (() => void) | undefined;
  private readonly unsubscribeResync: (() => void) | undefined;
  private generation = 0;
  private readonly counters = { hits: 0, misses: 0, evictions: 0, invalidations: 0 };

  constructor(private readonly options: RegistryViewOptions) {
    // The TTL stays in the entry (`expiresAt`, on the injected clock); lru-cache bounds the size.
    this.cache = new LRUCache<string, Entry>({
      max: Math.max(1, options.maxEntries ?? 10_000),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.counters.evictions++;
      },
    });
    this.ttlMs = Math.max(0, options.ttlMs ?? 10_000);
    this.clock = options.clock ?? systemClock;
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

  /** The live lease state; `unknown` when the lease store cannot be reached (fail closed). */
  leaseState(kind: string, id: string): Promise<LeaseState> {
    return this.options.leases.get(kind, id);
  }

  /** Evicts one record, or everything when called without arguments. */
  invalidate(kind?: RegistryKind, id?: string): void {
    this.generation++;
    this.counters.invalidations++;
    if (kind === undefined || id === undefined) {
      this.cache.clear();
      this.inflight.clear();
      return;
    }
    const key = `${kind}\u0000${id}`;
    this.cache.delete(key);
    this.inflight.delete(key);
  }

  /** Hit/miss/eviction counters and the current size. */
  stats(): RegistryViewStats {
    return { ...this.counters, size: this.cache.size };
  }

  /** Stops listening to events and drops the cache. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribeResync?.();
    this.cache.clear();
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
    const key = `${kind}\u0000${id}`;
    const now = this.clock().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) {
      this.counters.hits++;
      return hit.value as T | undefined;
    }
    if (hit) this.cache.delete(key);
    this.counters.misses++;
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T | undefined>;
    const generation = this.generation;
    const promise = load().then(
      (value) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
        if (generation === this.generation) this.store(key, value);
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

  private store(key: string, value: unknown): void {
    if (this.ttlMs === 0) return;
    this.cache.set(key, { value, expiresAt: this.clock().getTime() + this.ttlMs });
  }
}

/** Builds a {@link RegistryView}. */
export function createRegistryView(options: RegistryViewOptions): RegistryView {
  return new RegistryView(options);
}
