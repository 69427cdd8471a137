import type { LeaseStore, RegistryStore } from '@argus/store';
import type { Logger } from 'pino';

/** Lease renewals between two turns of the event loop. */
const YIELD_EVERY = 32;
/** Agents whose `lastSeen` one store write moves (one SQLite transaction, one Mongo bulk write). */
const SEEN_BATCH = 500;

/** Options of {@link TrafficMarker}. */
export interface TrafficMarkerOptions {
  leases: Pick<LeaseStore, 'renew'>;
  registry: Pick<RegistryStore, 'markSeen'>;
  /** Lease granted by traffic: an agent that keeps deciding stays `alive`. */
  leaseTtlMs: number;
  /** How often the marks are written (one lease renewal per agent per flush). */
  flushMs: number;
  /** `lastSeen` is rewritten at most this often per agent. */
  lastSeenEveryMs: number;
  clock?: () => Date;
  logger: Logger;
}

/**
 * Renews an agent's lease and `lastSeen` from its traffic: every decision an authenticated caller
 * asks for a registered agent (through the decision API or the proxy) marks it seen. Marks are
 * batched — one lease renewal per agent per flush, `lastSeen` at most once per `lastSeenEveryMs`
 * per agent and in one store write per flush (`markSeen`: no version bump) — so traffic costs no
 * write per call. A failed write is logged and retried at the next mark.
 */
export class TrafficMarker {
  private pending = new Set<string>();
  private readonly written = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly clock: () => Date;

  constructor(private readonly options: TrafficMarkerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Notes that `agentId` made a call. Cheap: a set insert. */
  seen(agentId: string): void {
    this.pending.add(agentId);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the pending marks now. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const run = async () => {
      const ids = [...this.pending];
      this.pending = new Set();
      const now = this.clock();
      const stale: string[] = [];
      for (const [i, id] of ids.entries()) {
        // INVARIANT: a flush never holds the event loop for long: the embedded store writes
        // synchronously, and thousands of agents seen in one period must not stall decisions.
        if (i > 0 && i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
        try {
          await this.options.leases.renew('agent', id, this.options.leaseTtlMs);
        } catch (err) {
          this.options.logger.warn(
            { agent: id, err: err instanceof Error ? err.message : String(err) },
            'could not renew the lease of an agent from its traffic',
          );
        }
        const last = this.written.get(id);
        if (last === undefined || now.getTime() - last >= this.options.lastSeenEveryMs) stale.push(id);
      }
      for (let i = 0; i < stale.length; i += SEEN_BATCH) {
        if (i > 0) await new Promise((r) => setImmediate(r));
        const batch = stale.slice(i, i + SEEN_BATCH);
        try {
          await this.options.registry.markSeen(batch, now.toISOString());
          for (const id of batch) this.written.set(id, now.getTime());
        } catch (err) {
          this.options.logger.warn(
            { agents: batch.length, err: err instanceof Error ? err.message : String(err) },
            'could not write when agents were last seen',
          );
        }
      }
      if (this.written.size > 100_000) this.written.clear();
    };
    this.flushing = (this.flushing ?? Promise.resolve()).then(run, run);
    return this.flushing;
  }

  /** Flushes what is pending and stops. */
  async close(): Promise<void> {
    await this.flush();
  }
}
