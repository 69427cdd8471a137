import type { Db, Document } from 'mongodb';

/** Record → document (`id` becomes `_id`). */
export function toDoc<T extends { id: string }>(record: T, extra: Record<string, unknown> = {}): IdDoc {
  const { id, ...rest } = record;
  return { _id: id, ...rest, ...extra };
}

/** Document → record, dropping the adapter-only fields. */
export function fromDoc<T>(doc: Record<string, unknown> | null | undefined, drop: readonly string[] = []): T | undefined {
  if (!doc) return undefined;
  const { _id, ...rest } = doc;
  for (const key of drop) delete (rest as Record<string, unknown>)[key];
  return { id: _id, ...rest } as T;
}

/** The next value of a named sequence (monotonic per database), used to order append-only logs. */
export async function nextSeq(db: Db, name: string): Promise<number> {
  const doc = await db
    .collection<{ _id: string; value: number }>('counters')
    .findOneAndUpdate({ _id: name }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' });
  return doc?.value ?? 1;
}

/** True for a duplicate-key error (code 11000). */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** Documents of these stores are keyed by string ids, never ObjectIds. */
export type IdDoc = Document & { _id: string };
