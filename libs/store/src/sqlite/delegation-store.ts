import type { Database } from 'better-sqlite3';
import type { DelegationGrant, DelegationQuery, DelegationStore, EntityRef, NewDelegationGrant, Page } from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { duplicate, newGrant, notFound } from '../records.ts';
import { Conditions, readDoc } from './documents.ts';

/** Delegation grants on SQLite; cascading revocation walks the `parent_id` tree with a recursive query. */
export class SqliteDelegationStore implements DelegationStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  async create(input: NewDelegationGrant): Promise<DelegationGrant> {
    const grant = newGrant(input, this.clock().toISOString());
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO delegations (id, from_type, from_id, to_type, to_id, parent_id, expires_at, revoked_at, doc)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      )
      .run(
        grant.id,
        grant.from.type,
        grant.from.id,
        grant.to.type,
        grant.to.id,
        grant.parentId ?? null,
        grant.expiresAt,
        JSON.stringify(grant),
      );
    if (r.changes === 0) throw duplicate('delegation', input.id);
    return grant;
  }

  async get(id: string): Promise<DelegationGrant | undefined> {
    return readDoc<DelegationGrant>(this.db, 'delegations', id);
  }

  async list(query: DelegationQuery = {}): Promise<Page<DelegationGrant>> {
    const limit = pageLimit(query.limit);
    const where = new Conditions();
    if (query.from) where.add('from_type = ? AND from_id = ?', query.from.type, query.from.id);
    if (query.to) where.add('to_type = ? AND to_id = ?', query.to.type, query.to.id);
    if (query.active !== undefined) {
      // INVARIANT: ISO-8601 UTC strings from Date#toISOString compare like the instants they name.
      const at = new Date(query.at ?? this.clock().toISOString()).toISOString();
      if (query.active) where.add('revoked_at IS NULL AND expires_at > ?', at);
      else where.add('(revoked_at IS NOT NULL OR expires_at <= ?)', at);
    }
    const before = decodeCursor(query.cursor);
    if (before) where.add('seq < ?', Number(before[0]));
    const sql = `SELECT seq, doc FROM delegations${where} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...where.args, limit + 1) as { seq: number; doc: string }[];
    const page = toPage(rows, limit, (r) => [r.seq]);
    return { ...page, items: page.items.map((r) => JSON.parse(r.doc) as DelegationGrant) };
  }

  async findActive(from: EntityRef, to: EntityRef, at?: string): Promise<DelegationGrant | undefined> {
    const page = await this.list({ from, to, active: true, limit: 1, ...(at !== undefined ? { at } : {}) });
    return page.items[0];
  }

  async revoke(id: string, by: string, reason: string): Promise<string[]> {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM delegations WHERE id = ?').get(id)) throw notFound('delegation', id);
      const rows = this.db
        .prepare(
          `WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT d.id FROM delegations d JOIN tree t ON d.parent_id = t.id)
           SELECT d.id, d.doc FROM delegations d JOIN tree t ON d.id = t.id WHERE d.revoked_at IS NULL ORDER BY d.seq`,
        )
        .all(id) as { id: string; doc: string }[];
      const at = this.clock().toISOString();
      const update = this.db.prepare('UPDATE delegations SET revoked_at = ?, doc = ? WHERE id = ?');
      for (const row of rows) {
        const grant = { ...(JSON.parse(row.doc) as DelegationGrant), revokedAt: at, revokedBy: by, revokeReason: reason };
        update.run(at, JSON.stringify(grant), row.id);
      }
      return rows.map((r) => r.id);
    })();
  }
}
