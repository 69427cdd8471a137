/**
 * In-memory sink and query store: every record kept in a list, queried with the same filter
 * semantics as the stores (`matchesFilters`). For tests and embedders that want the decisions API
 * without a database; nothing survives the process.
 */
import { UnavailableError } from '@argus/platform';
import { decodeCursor, encodeCursor, matchesFilters, type CursorPosition } from '../query-filters.ts';
import type { AuditPage, AuditQueryFilters, AuditQueryStore, AuditRecord, AuditSink, ChainedRecord, ChainHead } from '../types.ts';

/** The in-memory audit store: a sink and a query store. */
export type MemoryAuditStore = AuditSink & AuditQueryStore;

/** Creates an empty in-memory store. */
export function createMemoryAuditStore(): MemoryAuditStore {
  return new MemoryStore();
}

/** Newest first: time, then writer, then seq, all descending (the order of every store). */
function newestFirst(a: CursorPosition, b: CursorPosition): number {
  if (a.time !== b.time) return a.time < b.time ? 1 : -1;
  if (a.writer !== b.writer) return a.writer < b.writer ? 1 : -1;
  return b.seq - a.seq;
}

class MemoryStore implements MemoryAuditStore {
  readonly name = 'memory';
  /** Records in storage (write) order. */
  private readonly records: ChainedRecord[] = [];
  /** `writer` → seqs held, for idempotent writes. */
  private readonly held = new Map<string, Set<number>>();
  private closed = false;

  async write(records: readonly ChainedRecord[]): Promise<void> {
    this.open();
    for (const r of records) {
      let seqs = this.held.get(r.writer);
      if (!seqs) this.held.set(r.writer, (seqs = new Set()));
      if (seqs.has(r.seq)) continue;
      seqs.add(r.seq);
      // A copy: the store keeps what was written, whatever the caller does with its object later.
      this.records.push(structuredClone(r));
    }
  }

  async head(writer: string): Promise<ChainHead | undefined> {
    this.open();
    let last: ChainedRecord | undefined;
    for (const r of this.records) if (r.writer === writer && (!last || r.seq > last.seq)) last = r;
    return last ? { seq: last.seq, hash: last.hash } : undefined;
  }

  async query(filters: AuditQueryFilters, cursor: string | undefined, limit: number): Promise<AuditPage> {
    this.open();
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const matching = this.records
      .filter((r): r is AuditRecord => r.kind === 'decision' && matchesFilters(r, filters))
      .filter((r) => !after || newestFirst(r, after) > 0)
      .sort(newestFirst);
    const records = matching.slice(0, limit).map((r) => structuredClone(r));
    const last = records[records.length - 1];
    return matching.length > limit && last ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  async get(decisionId: string): Promise<AuditRecord | undefined> {
    this.open();
    const r = this.records.find((x): x is AuditRecord => x.kind === 'decision' && x.decision_id === decisionId);
    return r ? structuredClone(r) : undefined;
  }

  async range(fromSeq: number, toSeq: number, writer?: string): Promise<ChainedRecord[]> {
    this.open();
    return this.records
      .filter((r) => r.seq >= fromSeq && r.seq <= toSeq && (writer === undefined || r.writer === writer))
      .map((r) => structuredClone(r));
  }

  async writers(): Promise<string[]> {
    this.open();
    return [...this.held.keys()].sort();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new UnavailableError('the in-memory audit store is closed');
  }
}
