/**
 * MongoDB sink and query store (official driver): collection `audit_records` keyed by
 * `(writer, seq)`, with indexes for the query filters. Writes are idempotent: duplicate keys from a
 * replay are ignored.
 */
// The driver is loaded when a MongoDB store is opened: a process (or audit thread) without one never pays for it.
import type { MongoClient, Collection, Document, Filter } from 'mongodb';
import { UnavailableError } from '@argus/platform';
import { decodeCursor, encodeCursor, normalizeTime, parsePrincipal } from '../query-filters.ts';
import type { AuditPage, AuditQueryFilters, AuditQueryStore, AuditRecord, AuditSink, ChainedRecord, ChainHead } from '../types.ts';

let BulkWriteError: (typeof import('mongodb'))['MongoBulkWriteError'] | undefined;

/** Options of the MongoDB store: a URL (the store owns the client) or a client the caller owns. */
export interface MongoAuditStoreOptions {
  url?: string;
  client?: MongoClient;
  /** Default: the database named in the URL, else `argus`. */
  database?: string;
  /** Default `audit_records`. */
  collection?: string;
  /** Server selection timeout. Default 5000. */
  timeoutMs?: number;
}

/** The MongoDB audit store: a sink and a query store. */
export type MongoAuditStore = AuditSink & AuditQueryStore;

type Doc = Document & { record: ChainedRecord; writer: string; seq: number; kind: string; time: string };

/** Connects, creates the indexes and returns the store. */
export async function openMongoAuditStore(options: MongoAuditStoreOptions): Promise<MongoAuditStore> {
  const owned = !options.client;
  const driver = await import('mongodb');
  BulkWriteError = driver.MongoBulkWriteError;
  const client = options.client ?? new driver.MongoClient(options.url ?? '', { serverSelectionTimeoutMS: options.timeoutMs ?? 5000 });
  try {
    if (owned) await client.connect();
    const coll = client.db(options.database).collection<Doc>(options.collection ?? 'audit_records');
    await coll.createIndexes([
      { key: { writer: 1, seq: 1 }, unique: true, name: 'writer_seq' },
      { key: { time: -1, writer: -1, seq: -1 }, name: 'time' },
      { key: { decision_id: 1 }, name: 'decision_id' },
      { key: { principal_id: 1, time: -1 }, name: 'principal' },
      { key: { root_id: 1, time: -1 }, name: 'root' },
      { key: { goal: 1, time: -1 }, name: 'goal' },
      { key: { intent: 1, time: -1 }, name: 'intent' },
      { key: { outcome: 1, time: -1 }, name: 'outcome' },
      { key: { policies: 1, time: -1 }, name: 'policies' },
    ]);
    return new MongoStore(client, coll, owned);
  } catch (err) {
    if (owned) await client.close().catch(() => undefined);
    // The URL may carry credentials: the message never quotes it.
    throw new UnavailableError('cannot connect to the MongoDB audit store', err);
  }
}

class MongoStore implements MongoAuditStore {
  readonly name = 'mongodb';
  // Insertion order for `range`: MongoDB's natural order is not guaranteed, so every doc carries one.
  private ordinal = Date.now() * 1000;

  constructor(
    private readonly client: MongoClient,
    private readonly coll: Collection<Doc>,
    private readonly owned: boolean,
  ) {}

  async write(records: readonly ChainedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const docs: Doc[] = records.map((r) => {
      const d = r.kind === 'decision' ? r : undefined;
      return {
        writer: r.writer,
        seq: r.seq,
        kind: r.kind,
        time: r.time,
        ord: this.ordinal++,
        ...(d
          ? {
              decision_id: d.decision_id,
              principal_type: d.principal.type,
              principal_id: d.principal.id,
              root_id: d.root?.id,
              goal: d.goal,
              intent: d.intent,
              action: d.action,
              outcome: d.outcome,
              policies: d.policies,
            }
          : {}),
        record: r,
      };
    });
    try {
      await this.coll.insertMany(docs, { ordered: false });
    } catch (err) {
      if (BulkWriteError !== undefined && err instanceof BulkWriteError && toArray(err.writeErrors).every((e) => e.code === 11000)) return;
      throw err;
    }
  }

  async head(writer: string): Promise<ChainHead | undefined> {
    const doc = await this.coll.find({ writer }).sort({ seq: -1 }).limit(1).next();
    return doc ? { seq: doc.seq, hash: doc.record.hash } : undefined;
  }

  async query(filters: AuditQueryFilters, cursor: string | undefined, limit: number): Promise<AuditPage> {
    const and: Filter<Doc>[] = [{ kind: 'decision' }];
    if (filters.principal !== undefined) {
      const p = parsePrincipal(filters.principal);
      and.push({ principal_id: p.id, ...(p.type !== undefined ? { principal_type: p.type } : {}) });
    }
    if (filters.root !== undefined) and.push({ root_id: filters.root });
    if (filters.goal !== undefined) and.push({ goal: filters.goal });
    if (filters.intent !== undefined) and.push({ intent: filters.intent });
    if (filters.action !== undefined) and.push({ action: filters.action });
    if (filters.outcome !== undefined) and.push({ outcome: filters.outcome });
    if (filters.policy !== undefined) and.push({ policies: filters.policy });
    if (filters.from !== undefined) and.push({ time: { $gte: normalizeTime(filters.from, 'from') } });
    if (filters.to !== undefined) and.push({ time: { $lt: normalizeTime(filters.to, 'to') } });
    if (cursor !== undefined) {
      const c = decodeCursor(cursor);
      and.push({
        $or: [
          { time: { $lt: c.time } },
          { time: c.time, writer: { $lt: c.writer } },
          { time: c.time, writer: c.writer, seq: { $lt: c.seq } },
        ],
      });
    }
    const docs = await this.coll
      .find({ $and: and })
      .sort({ time: -1, writer: -1, seq: -1 })
      .limit(limit + 1)
      .toArray();
    const records = docs.slice(0, limit).map((d) => d.record as AuditRecord);
    const last = records[records.length - 1];
    return docs.length > limit && last ? { records, nextCursor: encodeCursor(last) } : { records };
  }

  async get(decisionId: string): Promise<AuditRecord | undefined> {
    const doc = await this.coll.find({ decision_id: decisionId, kind: 'decision' }).sort({ ord: 1 }).limit(1).next();
    return doc ? (doc.record as AuditRecord) : undefined;
  }

  async range(fromSeq: number, toSeq: number, writer?: string): Promise<ChainedRecord[]> {
    const filter: Filter<Doc> = { seq: { $gte: fromSeq, $lte: toSeq }, ...(writer !== undefined ? { writer } : {}) };
    const docs = await this.coll.find(filter).sort({ ord: 1 }).toArray();
    return docs.map((d) => d.record);
  }

  async writers(): Promise<string[]> {
    return ((await this.coll.distinct('writer')) as string[]).sort();
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.close();
  }
}

function toArray<T>(v: T | readonly T[]): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}
