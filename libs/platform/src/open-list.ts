/**
 * A list of the things currently open (calls in flight, responses not yet closed), for the
 * long-lived registries that must find them again (shutdown, the proxy's drain).
 *
 * Not a `Set`: a `Set` that keeps growing and shrinking replaces its table now and then, and V8
 * keeps each outgrown table holding the entries it had (for iterators still on it). Once such a
 * table is in the old generation, every request it held stays alive through the young-generation
 * collections until the next full GC, so the requests open at that moment, with everything they
 * reference, are promoted. In `argus serve`, one `Set` of the open responses made the decision
 * thread's young collections promote 635–694 KiB each, with median pauses of 3.5–4.7 ms against
 * 1.4–1.6 ms without it, under the varied workload with group commit, where ~32 requests are
 * always open (docs/benchmarks.md). Here each entry is a link that is cleared when removed, so
 * nothing that is gone stays referenced.
 */

/** The handle of an entry, for {@link OpenList.remove}. */
export interface OpenEntry<T> {
  /** @internal */ value: T | undefined;
  /** @internal */ prev: OpenEntry<T> | undefined;
  /** @internal */ next: OpenEntry<T> | undefined;
}

/** The entries in insertion order (iteration walks a snapshot, so entries may be removed on the way). */
export class OpenList<T> implements Iterable<T> {
  #first: OpenEntry<T> | undefined;
  #last: OpenEntry<T> | undefined;
  #size = 0;

  /** How many entries are open. */
  get size(): number {
    return this.#size;
  }

  /** Adds `value` at the end; keep the handle to remove it. */
  add(value: T): OpenEntry<T> {
    const entry: OpenEntry<T> = { value, prev: this.#last, next: undefined };
    if (this.#last) this.#last.next = entry;
    else this.#first = entry;
    this.#last = entry;
    this.#size++;
    return entry;
  }

  /** Removes the entry and clears its links; false when it was removed already. */
  remove(entry: OpenEntry<T>): boolean {
    if (entry.value === undefined) return false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#first = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#last = entry.prev;
    entry.prev = entry.next = entry.value = undefined;
    this.#size--;
    return true;
  }

  /** The entries open now, as a snapshot: removing or adding entries meanwhile does not disturb it. */
  [Symbol.iterator](): Iterator<T> {
    const open: T[] = [];
    for (let entry = this.#first; entry; entry = entry.next) if (entry.value !== undefined) open.push(entry.value);
    return open[Symbol.iterator]();
  }
}
