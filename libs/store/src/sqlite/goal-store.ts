import type { Database } from 'better-sqlite3';
import type { Goal, GoalQuery, GoalStatus, GoalStore, NewGoal, Page, WriteOptions } from '../ports.ts';
import { systemClock, type Clock } from '../paging.ts';
import { applyGoalStatus, duplicate, newGoal, notFound } from '../records.ts';
import { Conditions, pageOfDocs, readDoc } from './documents.ts';

/** Goals on SQLite. */
export class SqliteGoalStore implements GoalStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(input: NewGoal): Promise<Goal> {
    const goal = newGoal(input, this.clock().toISOString());
    const r = this.db
      .prepare('INSERT OR IGNORE INTO goals (id, version, owner, status, doc) VALUES (?, ?, ?, ?, ?)')
      .run(goal.id, goal.version, goal.owner, goal.status, JSON.stringify(goal));
    if (r.changes === 0) throw duplicate('goal', input.id);
    return goal;
  }

  async get(id: string): Promise<Goal | undefined> {
    return readDoc<Goal>(this.db, 'goals', id);
  }

  async list(query: GoalQuery = {}): Promise<Page<Goal>> {
    const where = new Conditions();
    if (query.owner !== undefined) where.add('owner = ?', query.owner);
    if (query.status !== undefined) where.add('status = ?', query.status);
    if (query.agent !== undefined) where.add(`EXISTS (SELECT 1 FROM json_each(goals.doc, '$.agents') WHERE value = ?)`, query.agent);
    return pageOfDocs<Goal>(this.db, 'goals', where, query);
  }

  async updateStatus(id: string, status: GoalStatus, options: WriteOptions = {}): Promise<Goal> {
    return this.db.transaction(() => {
      const current = readDoc<Goal>(this.db, 'goals', id);
      if (current === undefined) throw notFound('goal', id);
      const next = applyGoalStatus(current, status, options.expectedVersion, this.clock().toISOString());
      this.db
        .prepare('UPDATE goals SET version = ?, status = ?, doc = ? WHERE id = ?')
        .run(next.version, next.status, JSON.stringify(next), id);
      return next;
    })();
  }
}
