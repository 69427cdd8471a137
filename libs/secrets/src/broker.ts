import { UnavailableError } from '@argus/platform';
import type { SecretMetadata, SecretStore } from './ports.ts';
import { Scrubber } from './scrubber.ts';

/** Explicit per-agent and per-goal overrides of one credential name. */
export interface SecretOverride {
  /** agent id → secret name used instead of the base credential for that agent. */
  agents?: Record<string, string>;
  /** goal id → secret name used instead of the base credential while pursuing that goal. */
  goals?: Record<string, string>;
}

/** Options of a broker. */
export interface SecretsBrokerOptions {
  /** credential name → overrides. Checked before the naming convention. */
  overrides?: Record<string, SecretOverride>;
  /** How long a resolved value is served from memory before the store is read again. Default 5 s. */
  cacheTtlMs?: number;
  /** The clock, in ms since the epoch. */
  now?: () => number;
}

/** Who wants a credential: resolution may differ per agent or per goal. */
export interface ResolveScope {
  agent?: string;
  goal?: string;
}

/** A resolved credential: the name actually used (for the audit trail) and its value. */
export interface ResolvedSecret {
  name: string;
  value: string;
}

/**
 * Hands out credentials by name and remembers every value it has seen in its `scrubber`, so the
 * proxy can remove them from anything that leaves the process.
 *
 * Resolution order for `resolve(name, { agent, goal })`, first that exists wins:
 * 1. explicit goal override, 2. `name@goal:<goal>`, 3. explicit agent override,
 * 4. `name@agent:<agent>`, 5. `name`.
 */
export class SecretsBroker {
  /** Every secret value this broker has loaded or resolved. */
  readonly scrubber = new Scrubber();
  readonly #store: SecretStore;
  readonly #overrides: Record<string, SecretOverride>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: string | undefined; expires: number }>();

  constructor(store: SecretStore, options: SecretsBrokerOptions = {}) {
    this.#store = store;
    this.#overrides = options.overrides ?? {};
    this.#ttlMs = options.cacheTtlMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** The candidate secret names for `name` in resolution order. */
  candidates(name: string, scope: ResolveScope = {}): string[] {
    const out: string[] = [];
    const o = this.#overrides[name];
    if (scope.goal !== undefined) {
      const explicit = o?.goals?.[scope.goal];
      if (explicit !== undefined) out.push(explicit);
      out.push(`${name}@goal:${scope.goal}`);
    }
    if (scope.agent !== undefined) {
      const explicit = o?.agents?.[scope.agent];
      if (explicit !== undefined) out.push(explicit);
      out.push(`${name}@agent:${scope.agent}`);
    }
    out.push(name);
    return out;
  }

  /**
   * The credential to use for `name` in `scope`, or undefined when none exists.
   * Throws `UnavailableError` when the store cannot be read (the caller fails closed).
   */
  async resolve(name: string, scope: ResolveScope = {}): Promise<ResolvedSecret | undefined> {
    for (const candidate of this.candidates(name, scope)) {
      const value = await this.#read(candidate);
      if (value !== undefined) return { name: candidate, value };
    }
    return undefined;
  }

  /** Metadata of every stored secret; never a value. */
  list(): Promise<SecretMetadata[]> {
    return this.#store.list();
  }

  /**
   * Reads every stored value once so the scrubber knows them all, including credentials not yet
   * used. Call at start-up and after secrets change.
   */
  async loadAll(): Promise<number> {
    const metas = await this.#store.list();
    for (const m of metas) await this.#read(m.name, true);
    return metas.length;
  }

  /** Drops the cache, so the next `resolve` reads the store again. */
  invalidate(name?: string): void {
    if (name === undefined) this.#cache.clear();
    else this.#cache.delete(name);
  }

  async #read(name: string, fresh = false): Promise<string | undefined> {
    const now = this.#now();
    const hit = this.#cache.get(name);
    if (!fresh && hit && hit.expires > now) return hit.value;
    let value: string | undefined;
    try {
      value = await this.#store.get(name);
    } catch (err) {
      throw new UnavailableError(`secret store could not read \`${name}\``, err);
    }
    if (value !== undefined) this.scrubber.add(value);
    this.#cache.set(name, { value, expires: now + this.#ttlMs });
    return value;
  }
}
