import type { Logger } from '@argus/platform';
import type { EventBus, EventHandler } from '../ports.ts';

/**
 * The local half of every bus: a topic → handlers map. Delivery is asynchronous (a microtask
 * later) so a publisher never runs subscriber code inside its own call stack; a handler that
 * throws or rejects is logged and does not affect the others.
 */
export class LocalDispatcher {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  constructor(private readonly logger?: Logger) {}

  /** Registers a handler; answers the function that removes it. */
  subscribe(topic: string, handler: EventHandler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(topic) === set) this.handlers.delete(topic);
    };
  }

  /** Topics with at least one handler. */
  topics(): string[] {
    return [...this.handlers.keys()];
  }

  /** Delivers a payload to every handler of `topic`. */
  dispatch(topic: string, payload: unknown): void {
    const set = this.handlers.get(topic);
    if (!set) return;
    for (const handler of [...set]) {
      queueMicrotask(() => {
        try {
          const result = handler(payload, topic);
          if (result && typeof (result as Promise<void>).catch === 'function') {
            (result as Promise<void>).catch((err: unknown) => this.logger?.warn({ topic, err: errMessage(err) }, 'event handler failed'));
          }
        } catch (err) {
          this.logger?.warn({ topic, err: errMessage(err) }, 'event handler failed');
        }
      });
    }
  }

  /** Removes every handler. */
  clear(): void {
    this.handlers.clear();
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The in-process event bus of the embedded mode. */
export class MemoryEventBus implements EventBus {
  private readonly local: LocalDispatcher;
  private closed = false;

  constructor(logger?: Logger) {
    this.local = new LocalDispatcher(logger);
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) return;
    this.local.dispatch(topic, payload);
  }

  subscribe(topic: string, handler: EventHandler): () => void {
    return this.local.subscribe(topic, handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.local.clear();
  }
}
