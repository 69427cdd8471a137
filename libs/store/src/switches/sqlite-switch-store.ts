import type { Database } from 'better-sqlite3';
import { orUnavailableSync } from '../unavailable.ts';
import { systemClock, type Clock } from '../paging.ts';
import { sortSwitches, stoppedSwitch, type StopSwitch, type SwitchRecord, type SwitchScope, type SwitchStore } from './ports.ts';

/** Switches on SQLite, in the `switches` table of the store migrations. */
export class SqliteSwitchStore implements SwitchStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  async list(): Promise<SwitchRecord[]> {
    const rows = this.read(() => this.db.prepare('SELECT doc FROM switches').all() as { doc: string }[]);
    return sortSwitches(rows.map((r) => JSON.parse(r.doc) as SwitchRecord));
  }

  async get(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    const row = this.read(
      () => this.db.prepare('SELECT doc FROM switches WHERE scope = ? AND id = ?').get(scope, id) as { doc: string } | undefined,
    );
    return row ? (JSON.parse(row.doc) as SwitchRecord) : undefined;
  }

  async stop(input: StopSwitch): Promise<SwitchRecord> {
    const record = stoppedSwitch(input, this.clock());
    this.read(() =>
      this.db
        .prepare('INSERT INTO switches (scope, id, doc) VALUES (?, ?, ?) ON CONFLICT (scope, id) DO UPDATE SET doc = excluded.doc')
        .run(record.scope, record.id, JSON.stringify(record)),
    );
    return record;
  }

  async resume(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    return this.read(() =>
      this.db.transaction(() => {
        const row = this.db.prepare('SELECT doc FROM switches WHERE scope = ? AND id = ?').get(scope, id) as { doc: string } | undefined;
        if (!row) return undefined;
        this.db.prepare('DELETE FROM switches WHERE scope = ? AND id = ?').run(scope, id);
        return JSON.parse(row.doc) as SwitchRecord;
      })(),
    );
  }

  /** A closed or broken database is an infrastructure fault (`unavailable`): decisions fail closed on it. */
  private read<T>(fn: () => T): T {
    return orUnavailableSync('switch store', fn);
  }
}
