import type { Collection, Db, Document } from 'mongodb';
import { ConflictError } from '@argus/platform';
import type { Goal, GoalQuery, GoalStatus, GoalStore, NewGoal, Page, WriteOptions } from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { applyGoalStatus, duplicate, newGoal, notFound } from '../records.ts';
import { fromDoc, isDuplicateKey, toDoc, type IdDoc } from './common.ts';

/** Goals on MongoDB, status changes compare-and-set on `version`. */
export class MongoGoalStore implements GoalStore {
  private readonly goals: Collection<IdDoc>;

  constructor(
    db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.goals = db.collection('goals');
  }

  async create(input: NewGoal): Promise<Goal> {
    const goal = newGoal(input, this.clock().toISOString());
    try {
      await this.goals.insertOne(toDoc(goal) as IdDoc);
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicate('goal', input.id);
      throw err;
    }
    return goal;
  }

  async get(id: string): Promise<Goal | undefined> {
    return fromDoc<Goal>(await this.goals.findOne({ _id: id }));
  }

  async list(query: GoalQuery = {}): Promise<Page<Goal>> {
    const limit = pageLimit(query.limit);
    const filter: Document = {};
    if (query.owner !== undefined) filter.owner = query.owner;
    if (query.status !== undefined) filter.status = query.status;
    if (query.agent !== undefined) filter.agents = query.agent;
    const after = decodeCursor(query.cursor);
    if (after) filter._id = { $gt: String(after[0]) };
    const docs = await this.goals
      .find(filter)
      .sort({ _id: 1 })
      .limit(limit + 1)
      .toArray();
    return toPage(
      docs.map((d) => fromDoc<Goal>(d)!),
      limit,
      (g) => [g.id],
    );
  }

  async updateStatus(id: string, status: GoalStatus, options: WriteOptions = {}): Promise<Goal> {
    const current = await this.get(id);
    if (!current) throw notFound('goal', id);
    const next = applyGoalStatus(current, status, options.expectedVersion, this.clock().toISOString());
    const r = await this.goals.replaceOne({ _id: id, version: current.version }, toDoc(next) as IdDoc);
    if (r.matchedCount === 0)
      throw new ConflictError(`goal \`${id}\` was changed concurrently`, [{ path: '/version', message: 'concurrent update' }]);
    return next;
  }
}
