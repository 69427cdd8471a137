import type { Database } from 'better-sqlite3';
import type {
  NewPolicyVersion,
  Page,
  PageQuery,
  PolicyActivation,
  PolicyVersion,
  PolicyVersionStore,
  PolicyVersionSummary,
} from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { notFound } from '../records.ts';
import { readDoc } from './documents.ts';

/** Policy-set versions on SQLite: content rows plus an append-only activation log. */
export class SqlitePolicyVersionStore implements PolicyVersionStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  async saveVersion(input: NewPolicyVersion): Promise<{ version: PolicyVersion; created: boolean }> {
    return this.db.transaction(() => {
      const existing = this.read(input.version);
      if (existing) return { version: existing, created: false };
      const version: PolicyVersion = {
        version: input.version,
        files: input.files.map((f) => ({ path: f.path, text: f.text })),
        author: input.author,
        message: input.message,
        createdAt: this.clock().toISOString(),
      };
      this.db.prepare('INSERT INTO policy_versions (version, doc) VALUES (?, ?)').run(version.version, JSON.stringify(version));
      return { version, created: true };
    })();
  }

  async getVersion(version: string): Promise<PolicyVersion | undefined> {
    return this.read(version);
  }

  async listVersions(query: PageQuery = {}): Promise<Page<PolicyVersionSummary>> {
    const page = this.newestFirst('policy_versions', query);
    return {
      ...page,
      items: page.items.map((r) => {
        const { files, ...rest } = JSON.parse(r.doc) as PolicyVersion;
        return { ...rest, fileCount: files.length };
      }),
    };
  }

  async activate(version: string, by: string, message: string): Promise<PolicyActivation> {
    return this.record(version, 'activate', by, message);
  }

  async rollback(version: string, by: string, message: string): Promise<PolicyActivation> {
    return this.record(version, 'rollback', by, message);
  }

  async getActive(): Promise<PolicyVersion | undefined> {
    const row = this.db.prepare('SELECT version FROM policy_activations ORDER BY seq DESC LIMIT 1').get() as
      { version: string } | undefined;
    return row ? this.read(row.version) : undefined;
  }

  async activations(query: PageQuery = {}): Promise<Page<PolicyActivation>> {
    const page = this.newestFirst('policy_activations', query);
    return { ...page, items: page.items.map((r) => ({ ...(JSON.parse(r.doc) as Omit<PolicyActivation, 'seq'>), seq: r.seq })) };
  }

  private record(version: string, action: PolicyActivation['action'], by: string, message: string): PolicyActivation {
    return this.db.transaction(() => {
      if (!this.read(version)) throw notFound('policy version', version);
      const prev = this.db.prepare('SELECT version FROM policy_activations ORDER BY seq DESC LIMIT 1').get() as
        { version: string } | undefined;
      const entry: Omit<PolicyActivation, 'seq'> = {
        version,
        action,
        by,
        message,
        at: this.clock().toISOString(),
        ...(prev ? { previous: prev.version } : {}),
      };
      const r = this.db.prepare('INSERT INTO policy_activations (version, doc) VALUES (?, ?)').run(version, JSON.stringify(entry));
      return { ...entry, seq: Number(r.lastInsertRowid) };
    })();
  }

  /** A page of the rows of an append-only table (`policy_versions`, `policy_activations`), newest first. */
  private newestFirst(table: string, query: PageQuery): Page<{ seq: number; doc: string }> {
    const limit = pageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const rows = this.db
      .prepare(`SELECT seq, doc FROM ${table} WHERE seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(before ? Number(before[0]) : Number.MAX_SAFE_INTEGER, limit + 1) as { seq: number; doc: string }[];
    return toPage(rows, limit, (r) => [r.seq]);
  }

  private read(version: string): PolicyVersion | undefined {
    return readDoc<PolicyVersion>(this.db, 'policy_versions', version, 'version');
  }
}
