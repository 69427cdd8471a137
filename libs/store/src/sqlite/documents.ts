import type { Database } from 'better-sqlite3';
import { decodeCursor, pageLimit, toPage } from '../paging.ts';
import type { Page, PageQuery } from '../ports.ts';

/**
 * Reading the SQLite tables that keep each record as a JSON `doc` column beside the indexed
 * columns it is filtered on (registry, goals, delegations, policy versions).
 *
 * INVARIANT: table and column names come from the adapters' own constants, never from input;
 * every value is a bound `?` argument.
 */

/** The conditions of a SQL `WHERE`, with the arguments of their `?` in order. */
export class Conditions {
  readonly clauses: string[] = [];
  readonly args: unknown[] = [];

  /** Adds `clause`, with one argument per `?` it holds. */
  add(clause: string, ...args: unknown[]): this {
    this.clauses.push(clause);
    this.args.push(...args);
    return this;
  }

  /** ` WHERE a AND b`, or nothing when there is no condition. */
  toString(): string {
    return this.clauses.length ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

/** The document of the row of `table` whose `column` is `key`, parsed; undefined when there is none. */
export function readDoc<T>(db: Database, table: string, key: string, column = 'id'): T | undefined {
  const row = db.prepare(`SELECT doc FROM ${table} WHERE ${column} = ?`).get(key) as { doc: string } | undefined;
  return row ? (JSON.parse(row.doc) as T) : undefined;
}

/** A page of the documents of `table` that meet every condition, in id order, after `query.cursor`. */
export function pageOfDocs<T extends { id: string }>(db: Database, table: string, where: Conditions, query: PageQuery): Page<T> {
  const limit = pageLimit(query.limit);
  const after = decodeCursor(query.cursor);
  if (after) where.add('id > ?', String(after[0]));
  const sql = `SELECT doc FROM ${table}${where} ORDER BY id LIMIT ?`;
  const rows = (db.prepare(sql).all(...where.args, limit + 1) as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
  return toPage(rows, limit, (r) => [r.id]);
}
