import type { Database } from 'better-sqlite3';
import type { Goal, GoalQuery, GoalStatus, GoalStore, NewGoal, Page, WriteOptions } from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { applyGoalStatus, duplicate, newGoal, notFound } from '../records.ts';

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
    const row = this.db.prepare('SELECT doc FROM goals WHERE id = ?').get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as Goal) : undefined;
  }

  async list(query: GoalQuery = {}): Promise<Page<Goal>> {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.owner !== undefined) {
      where.push('owner = ?');
      args.push(query.owner);
    }
    if (query.status !== undefined) {
      where.push('status = ?');
      args.push(query.status);
    }
    if (query.agent !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM json_each(goals.doc, '$.agents') WHERE value = ?)`);
      args.push(query.agent);
    }
    const after = decodeCursor(query.cursor);
    if (after) {
      where.push('id > ?');
      args.push(String(after[0]));
    }
    const sql = `SELECT doc FROM goals${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = (this.db.prepare(sql).all(...args, limit + 1) as { doc: string }[]).map((r) => JSON.parse(r.doc) as Goal);
    return toPage(rows, limit, (g) => [g.id]);
  }

  async updateStatus(id: string, status: GoalStatus, options: WriteOptions = {}): Promise<Goal> {
    return this.db.transaction(() => {
      const current = (this.db.prepare('SELECT doc FROM goals WHERE id = ?').get(id) as { doc: string } | undefined)?.doc;
      if (current === undefined) throw notFound('goal', id);
      const next = applyGoalStatus(JSON.parse(current) as Goal, status, options.expectedVersion, this.clock().toISOString());
      this.db
        .prepare('UPDATE goals SET version = ?, status = ?, doc = ? WHERE id = ?')
        .run(next.version, next.status, JSON.stringify(next), id);
      return next;
    })();
  }
}
