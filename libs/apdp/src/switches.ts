/**
 * The decision point's view of the switches: an in-process snapshot of the stopped switches,
 * re-read from the switch store when the event bus says one changed (Redis pub/sub across
 * replicas), after a bus outage, and periodically. Reading it costs a few map lookups per
 * decision. When the snapshot could not be refreshed for longer than `maxStaleMs`, every
 * decision fails closed with `switches_unavailable`: an outage of the store never lifts a stop.
 */
import type { AuthorizeInput } from '@argus/contracts';
import type { SwitchVerdict } from '@argus/decision';
import {
  ALL_SWITCH_ID,
  TOPICS,
  type EventBus,
  type SwitchChangedEvent,
  type SwitchRecord,
  type SwitchScope,
  type SwitchStore,
} from '@argus/store';
import { Gauge, metric, type Registry } from '@argus/platform';
import type { Logger } from 'pino';

/** Options of {@link SwitchBoard}. */
export interface SwitchBoardOptions {
  store: SwitchStore;
  events?: EventBus;
  logger?: Logger;
  /** Periodic re-read, so a missed event is caught up (default 5,000 ms). */
  reloadMs?: number;
  /** Past this without a successful read, every decision denies `switches_unavailable` (default 30,000 ms). */
  maxStaleMs?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
  /** Exposes `argus_switches_stopped{scope}` and `argus_switches_snapshot_age_seconds` (alert on either). */
  metrics?: Registry;
}

/** Default period of the switch snapshot's re-read. */
export const DEFAULT_SWITCH_RELOAD_MS = 5_000;
/** Default bound on the snapshot's age before decisions fail closed. */
export const DEFAULT_SWITCH_MAX_STALE_MS = 30_000;

/** The stopped switches as the decision point sees them. */
export class SwitchBoard {
  private all: SwitchRecord | undefined;
  private readonly agents = new Map<string, SwitchRecord>();
  private readonly tools = new Map<string, SwitchRecord>();
  private readonly servers = new Map<string, SwitchRecord>();
  /** When the last successful read finished; -Infinity until the first one (fail closed from the start). */
  private readAt = Number.NEGATIVE_INFINITY;
  private lastError: string | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  readonly reloadMs: number;
  readonly maxStaleMs: number;

  constructor(private readonly options: SwitchBoardOptions) {
    this.now = options.now ?? (() => performance.now());
    this.reloadMs = options.reloadMs ?? DEFAULT_SWITCH_RELOAD_MS;
    this.maxStaleMs = options.maxStaleMs ?? DEFAULT_SWITCH_MAX_STALE_MS;
    if (options.metrics) this.expose(options.metrics);
  }

  private expose(registry: Registry): void {
    // Gauges read the snapshot when scraped: nothing to keep in step on the decision path.
    const counts = (): Record<SwitchScope, number> => ({
      all: this.all ? 1 : 0,
      agent: this.agents.size,
      tool: this.tools.size,
      server: this.servers.size,
    });
    const age = (): number | null => this.state().ageMs;
    metric(
      registry,
      'argus_switches_stopped',
      () =>
        new Gauge({
          name: 'argus_switches_stopped',
          help: "Stopped switches in this replica's snapshot, by scope (all is 0 or 1)",
          labelNames: ['scope'],
          registers: [registry],
          collect() {
            for (const [scope, n] of Object.entries(counts())) this.set({ scope }, n);
          },
        }),
    );
    metric(
      registry,
      'argus_switches_snapshot_age_seconds',
      () =>
        new Gauge({
          name: 'argus_switches_snapshot_age_seconds',
          help: 'Age of the switch snapshot (-1 before the first read); past the bound every decision is denied switches_unavailable',
          registers: [registry],
          collect() {
            const ms = age();
            this.set(ms === null ? -1 : ms / 1000);
          },
        }),
    );
  }

  /**
   * Reads the store once, then follows the bus and re-reads every `reloadMs`. A failed first read
   * is logged, not thrown: decisions fail closed until a read succeeds.
   */
  async start(): Promise<void> {
    const { events } = this.options;
    if (events) {
      this.unsubscribe.push(events.subscribe(TOPICS.switchChanged, () => this.refresh()));
      const off = events.onResync?.(() => this.refresh());
      if (off) this.unsubscribe.push(off);
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.reloadMs);
    this.timer.unref();
  }

  /** Stops following the bus and the timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /**
   * Re-reads the store. Concurrent calls share one read, and a call made during a read causes one
   * more read after it (so a change published mid-read is never missed). Never rejects.
   */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again);
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readOnce(): Promise<void> {
    try {
      const records = await this.options.store.list();
      this.all = undefined;
      this.agents.clear();
      this.tools.clear();
      this.servers.clear();
      for (const r of records) {
        if (r.scope === 'all') this.all = r;
        else this.mapOf(r.scope).set(r.id, r);
      }
      this.readAt = this.now();
      if (this.lastError) this.options.logger?.info('switch store readable again');
      this.lastError = undefined;
      for (const listener of this.listeners) listener();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.lastError !== message)
        this.options.logger?.error(
          { err: message },
          'switch store unreadable; decisions fail closed once the snapshot is older than the bound',
        );
      this.lastError = message;
    }
  }

  private mapOf(scope: Exclude<SwitchScope, 'all'>): Map<string, SwitchRecord> {
    return scope === 'agent' ? this.agents : scope === 'tool' ? this.tools : this.servers;
  }

  /**
   * Calls `listener` after every read of the store (a switch stopped or resumed on any replica is
   * seen by the next one): the proxy cuts the calls in flight a stop now covers. Answers the
   * unsubscribe.
   */
  onRead(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The snapshot's state: its age and whether decisions are currently failing closed on it. */
  state(): { fresh: boolean; ageMs: number | null; maxStaleMs: number; error?: string } {
    const age = Number.isFinite(this.readAt) ? Math.round(this.now() - this.readAt) : null;
    return { fresh: this.fresh(), ageMs: age, maxStaleMs: this.maxStaleMs, ...(this.lastError ? { error: this.lastError } : {}) };
  }

  private fresh(): boolean {
    return this.now() - this.readAt <= this.maxStaleMs;
  }

  /**
   * The switch stopping `input`, if any: `all`; the principal or any agent of its delegation
   * chain (stopping an agent stops the sub-agents acting on its authority); the resource as a
   * `Tool` (`<server>/<tool>`); its server, for a `Tool`, `Resource` or `Prompt` named
   * `<server>/...` and for the `McpServer` itself.
   */
  check(input: AuthorizeInput): SwitchVerdict | undefined {
    if (!this.fresh()) {
      const why = this.lastError ? `: ${this.lastError}` : '';
      return { code: 'switches_unavailable', message: `switches could not be read for more than ${this.maxStaleMs} ms${why}` };
    }
    const hit = this.match(input);
    return hit ? { code: 'switch_stopped', switch: hit, message: sentence(hit) } : undefined;
  }

  /**
   * The switch stopping any of `ids` (agents of a delegation chain resolved by governance, e.g.
   * from a delegation token). Freshness is `check`'s concern: it runs first on every decision.
   */
  checkAgents(ids: readonly string[]): SwitchVerdict | undefined {
    if (this.agents.size === 0) return undefined;
    for (const id of ids) {
      const r = this.agents.get(id);
      if (r) return { code: 'switch_stopped', switch: r, message: sentence(r) };
    }
    return undefined;
  }

  private match(input: AuthorizeInput): SwitchRecord | undefined {
    if (this.all) return this.all;
    if (this.agents.size > 0) {
      if (isType(input.principal?.type, 'Agent')) {
        const r = this.agents.get(input.principal.id);
        if (r) return r;
      }
      for (const hop of input.delegation ?? []) {
        const r = isType(hop.type, 'Agent') ? this.agents.get(hop.id) : undefined;
        if (r) return r;
      }
    }
    const resource = input.resource;
    if (!resource) return undefined;
    if (isType(resource.type, 'Tool')) {
      const tool = this.tools.get(resource.id);
      if (tool) return tool;
    }
    if (this.servers.size === 0) return undefined;
    if (isType(resource.type, 'McpServer')) return this.servers.get(resource.id);
    if (SERVER_ITEM_TYPES.some((type) => isType(resource.type, type))) {
      const slash = resource.id.indexOf('/');
      if (slash > 0) return this.servers.get(resource.id.slice(0, slash));
    }
    return undefined;
  }
}

/**
 * The entity types the proxy names `<server>/...` for an MCP server's items (`libs/proxy/src/mcp.ts`):
 * a tool `<server>/<name>`, a resource or resource template `<server>/<uri>`, a prompt
 * `<server>/<name>`. A server switch stops every one of them.
 * INVARIANT: every type `describeMcpMessage` gives a server item is listed here, or a stopped server
 * keeps serving it.
 */
const SERVER_ITEM_TYPES = ['Tool', 'Resource', 'Prompt'] as const;

/** `Agent` and `Argus::Agent` alike. */
function isType(type: string | undefined, short: string): boolean {
  return type === short || type === `Argus::${short}`;
}

/** The one-line reason a switch gives in a deny. */
export function sentence(r: SwitchRecord): string {
  const what = r.scope === 'all' ? 'everything is stopped' : `${r.scope} \`${r.id}\` is stopped`;
  return `${what} by ${r.by} at ${r.at}: ${r.reason}`;
}

/** Publishes a change so every replica re-reads the store; a bus failure is logged (the periodic read catches up). */
export async function announceSwitch(events: EventBus | undefined, event: SwitchChangedEvent, logger?: Logger): Promise<void> {
  if (!events) return;
  try {
    await events.publish(TOPICS.switchChanged, event);
  } catch (err) {
    logger?.warn(
      { err: err instanceof Error ? err.message : String(err), ...event },
      'switch change not announced on the bus; other replicas see it at their next periodic read',
    );
  }
}

export { ALL_SWITCH_ID };
