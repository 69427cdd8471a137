import type { Collection, Db, Document } from 'mongodb';
import type { DelegationGrant, DelegationQuery, DelegationStore, EntityRef, NewDelegationGrant, Page } from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { duplicate, newGrant, notFound } from '../records.ts';
import { fromDoc, isDuplicateKey, nextSeq, toDoc, type IdDoc } from './common.ts';

/** Bound on the grants one cascading revocation may touch; a tree larger than this is a bug. */
const MAX_CASCADE = 10_000;

/** Delegation grants on MongoDB; cascading revocation walks the `parentId` tree breadth-first. */
export class MongoDelegationStore implements DelegationStore {
  private readonly grants: Collection<IdDoc>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.grants = db.collection('delegations');
  }

  async create(input: NewDelegationGrant): Promise<DelegationGrant> {
    const grant = newGrant(input, this.clock().toISOString());
    const seq = await nextSeq(this.db, 'delegations');
    try {
      await this.grants.insertOne(toDoc(grant, { seq }) as IdDoc);
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicate('delegation', input.id);
      throw err;
    }
    return grant;
  }

  async get(id: string): Promise<DelegationGrant | undefined> {
    return fromDoc<DelegationGrant>(await this.grants.findOne({ _id: id }), ['seq']);
  }

  async list(query: DelegationQuery = {}): Promise<Page<DelegationGrant>> {
    const limit = pageLimit(query.limit);
    const filter: Document = {};
    if (query.from) Object.assign(filter, { 'from.type': query.from.type, 'from.id': query.from.id });
    if (query.to) Object.assign(filter, { 'to.type': query.to.type, 'to.id': query.to.id });
    if (query.active !== undefined) {
      const at = new Date(query.at ?? this.clock().toISOString()).toISOString();
      if (query.active) Object.assign(filter, { revokedAt: { $exists: false }, expiresAt: { $gt: at } });
      else filter.$or = [{ revokedAt: { $exists: true } }, { expiresAt: { $lte: at } }];
    }
    const before = decodeCursor(query.cursor);
    if (before) filter.seq = { $lt: Number(before[0]) };
    const docs = await this.grants
      .find(filter)
      .sort({ seq: -1 })
      .limit(limit + 1)
      .toArray();
    const page = toPage(docs, limit, (d) => [d.seq as number]);
    return { ...page, items: page.items.map((d) => fromDoc<DelegationGrant>(d, ['seq'])!) };
  }

  async findActive(from: EntityRef, to: EntityRef, at?: string): Promise<DelegationGrant | undefined> {
    return (await this.list({ from, to, active: true, limit: 1, ...(at !== undefined ? { at } : {}) })).items[0];
  }

  async revoke(id: string, by: string, reason: string): Promise<string[]> {
    if (!(await this.grants.findOne({ _id: id }, { projection: { _id: 1 } }))) throw notFound('delegation', id);
    const tree: string[] = [id];
    let frontier = [id];
    while (frontier.length > 0 && tree.length < MAX_CASCADE) {
      const children = await this.grants
        .find({ parentId: { $in: frontier } }, { projection: { _id: 1 } })
        .limit(MAX_CASCADE - tree.length)
        .toArray();
      frontier = children.map((c) => c._id as unknown as string).filter((c) => !tree.includes(c));
      tree.push(...frontier);
    }
    const pending = await this.grants
      .find({ _id: { $in: tree }, revokedAt: { $exists: false } }, { projection: { _id: 1, seq: 1 } })
      .sort({ seq: 1 })
      .toArray();
    const ids = pending.map((d) => d._id as unknown as string);
    if (ids.length === 0) return [];
    const at = this.clock().toISOString();
    await this.grants.updateMany(
      { _id: { $in: ids }, revokedAt: { $exists: false } },
      { $set: { revokedAt: at, revokedBy: by, revokeReason: reason } },
    );
    return ids;
  }
}
