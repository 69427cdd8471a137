import { LRUCache } from 'lru-cache';

/**
 * A bounded pool of cedar-wasm preparse slots.
 *
 * cedar-wasm keeps every preparsed policy set or schema id in wasm memory forever, while
 * re-preparsing under an existing id replaces it with no growth. So Argus never invents ids per
 * set: it reuses a fixed number of slot ids, least recently used first. The pool is only a cache —
 * every entry can be prepared again from the data that owns it.
 * INVARIANT: cedar-wasm calls are synchronous, so a slot cannot be reassigned between `acquire`
 * and the evaluation that uses it.
 */
export class SlotPool {
  /** Key → slot id, least recently used first out. Never over `capacity`: a slot is popped before it is reused. */
  private readonly byKey: LRUCache<string, string>;
  private readonly free: string[] = [];
  private created = 0;

  constructor(
    private readonly prefix: string,
    private readonly capacity: number,
  ) {
    this.byKey = new LRUCache({ max: capacity });
  }

  /**
   * Returns the slot holding `key`, preparing a slot with `prepare` when the key is not cached.
   * `prepare` returns false when cedar-wasm refused the content; then nothing is cached.
   */
  acquire(key: string, prepare: (slotId: string) => boolean): string | undefined {
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const slot = this.take();
    if (!prepare(slot)) {
      this.free.push(slot);
      return undefined;
    }
    this.byKey.set(key, slot);
    return slot;
  }

  /** How many slots hold a prepared entry. */
  get size(): number {
    return this.byKey.size;
  }

  private take(): string {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.created < this.capacity) return `${this.prefix}${this.created++}`;
    return this.byKey.pop()!;
  }
}
