/**
 * The live feed of chained records (`subscribe`, the decisions stream): every subscriber gets every
 * record as it is chained; a subscriber that throws is logged and does not stop the others.
 */
import type { Logger } from '@argus/platform';
import type { AuditListener, AuditSubscribe, ChainedRecord } from './types.ts';

/** The subscribers of one trail. */
export class LiveFeed implements AuditSubscribe {
  private readonly listeners = new Set<AuditListener>();

  constructor(private readonly logger: Logger) {}

  /** Subscribers now. */
  get size(): number {
    return this.listeners.size;
  }

  /** Adds `listener`; the function returned removes it (true if it was there). */
  subscribe(listener: AuditListener): () => boolean {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(rec: ChainedRecord): void {
    for (const l of this.listeners) {
      try {
        l(rec);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit listener failed');
      }
    }
  }
}
