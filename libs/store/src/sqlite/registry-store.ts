import type { Database, Statement } from 'better-sqlite3';
import type {
  Agent,
  AgentPatch,
  AgentQuery,
  Human,
  HumanPatch,
  HumanQuery,
  McpServer,
  McpServerPatch,
  McpServerQuery,
  NewAgent,
  NewHuman,
  NewMcpServer,
  Page,
  PageQuery,
  RegistryStore,
  TrustChange,
  TrustChangeResult,
  TrustKind,
  TrustTransition,
  WriteOptions,
} from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import {
  applyTrust,
  duplicate,
  initialTransition,
  newAgent,
  newHuman,
  newMcpServer,
  notFound,
  patchAgent,
  patchHuman,
  patchMcpServer,
  updatable,
  urlForms,
} from '../records.ts';
import { Conditions, pageOfDocs, readDoc } from './documents.ts';

/** The registry on SQLite: one row per record (indexed columns + the JSON document). */
export class SqliteRegistryStore implements RegistryStore {
  /** Record writes through this store (not `markSeen`): part of {@link changeToken}. */
  private writes = 0;
  private readonly dataVersion: Statement;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /**
   * Changes when a record may have changed since it was last read: a write through this store, or
   * a commit to the file by any other connection (SQLite's `data_version`: another process, the
   * CLI). Another user of this connection (counters, policies) does not change it.
   */
  changeToken(): string {
    return `${this.dataVersion.get() as number}:${this.writes}`;
  }

  private now(): string {
    return this.clock().toISOString();
  }

  // -- humans ---------------------------------------------------------------------------------

  async createHuman(input: NewHuman): Promise<Human> {
    this.writes++;
    const human = newHuman(input, this.now());
    const r = this.db
      .prepare('INSERT OR IGNORE INTO humans (id, version, doc) VALUES (?, ?, ?)')
      .run(human.id, human.version, JSON.stringify(human));
    if (r.changes === 0) throw duplicate('human', input.id);
    return human;
  }

  async getHuman(id: string): Promise<Human | undefined> {
    return readDoc<Human>(this.db, 'humans', id);
  }

  async listHumans(query: HumanQuery = {}): Promise<Page<Human>> {
    const where = new Conditions();
    if (query.role !== undefined) where.add(`EXISTS (SELECT 1 FROM json_each(humans.doc, '$.roles') WHERE value = ?)`, query.role);
    return pageOfDocs<Human>(this.db, 'humans', where, query);
  }

  async updateHuman(id: string, patch: HumanPatch, options: WriteOptions = {}): Promise<Human> {
    this.writes++;
    return this.db.transaction(() => {
      const current = updatable('human', id, readDoc<Human>(this.db, 'humans', id), options.expectedVersion);
      const next = patchHuman(current, patch, this.now());
      this.db
        .prepare('UPDATE humans SET version = ?, doc = ? WHERE id = ? AND version = ?')
        .run(next.version, JSON.stringify(next), id, current.version);
      return next;
    })();
  }

  async deleteHuman(id: string): Promise<boolean> {
    this.writes++;
    return this.db.prepare('DELETE FROM humans WHERE id = ?').run(id).changes > 0;
  }

  // -- agents ---------------------------------------------------------------------------------

  async createAgent(input: NewAgent, by: string): Promise<Agent> {
    this.writes++;
    const now = this.now();
    const agent = newAgent(input, now);
    return this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT OR IGNORE INTO agents (id, version, trust, owner, kind, discovered_by, doc) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(agent.id, agent.version, agent.trust, agent.owner ?? null, agent.kind, agent.discoveredBy ?? null, JSON.stringify(agent));
      if (r.changes === 0) throw duplicate('agent', input.id);
      this.appendHistory(initialTransition('agent', agent.id, agent.trust, by, now));
      return agent;
    })();
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    return readDoc<Agent>(this.db, 'agents', id);
  }

  async listAgents(query: AgentQuery = {}): Promise<Page<Agent>> {
    const where = new Conditions();
    if (query.trust !== undefined) where.add('trust = ?', query.trust);
    if (query.owner !== undefined) where.add('owner = ?', query.owner);
    if (query.kind !== undefined) where.add('kind = ?', query.kind);
    if (query.discoveredBy !== undefined) where.add('discovered_by = ?', query.discoveredBy);
    if (query.label !== undefined) {
      const { key, value } = query.label;
      if (value === undefined) where.add(`EXISTS (SELECT 1 FROM json_each(agents.doc, '$.labels') WHERE key = ?)`, key);
      else where.add(`EXISTS (SELECT 1 FROM json_each(agents.doc, '$.labels') WHERE key = ? AND value = ?)`, key, value);
    }
    return pageOfDocs<Agent>(this.db, 'agents', where, query);
  }

  async markSeen(ids: readonly string[], at: string): Promise<number> {
    if (ids.length === 0) return 0;
    const seen = this.db.prepare(
      "UPDATE agents SET doc = json_set(doc, '$.lastSeen', ?) WHERE id = ? AND coalesce(json_extract(doc, '$.lastSeen'), '') < ?",
    );
    // INVARIANT: one transaction for the whole batch — thousands of agents seen in one period cost one commit.
    return this.db.transaction(() => ids.reduce((n, id) => n + seen.run(at, id, at).changes, 0))();
  }

  async updateAgent(id: string, patch: AgentPatch, options: WriteOptions = {}): Promise<Agent> {
    this.writes++;
    return this.db.transaction(() => {
      const current = updatable('agent', id, readDoc<Agent>(this.db, 'agents', id), options.expectedVersion);
      const next = patchAgent(current, patch, this.now());
      this.writeAgent(next, current.version);
      return next;
    })();
  }

  async deleteAgent(id: string): Promise<boolean> {
    this.writes++;
    return this.db.prepare('DELETE FROM agents WHERE id = ?').run(id).changes > 0;
  }

  // -- MCP servers ----------------------------------------------------------------------------

  async createMcpServer(input: NewMcpServer, by: string): Promise<McpServer> {
    this.writes++;
    const now = this.now();
    const server = newMcpServer(input, now);
    return this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT OR IGNORE INTO mcp_servers (id, version, trust, transport, discovered_by, doc) VALUES (?, ?, ?, ?, ?, ?)')
        .run(server.id, server.version, server.trust, server.transport, server.discoveredBy ?? null, JSON.stringify(server));
      if (r.changes === 0) throw duplicate('mcp-server', input.id);
      this.appendHistory(initialTransition('mcp-server', server.id, server.trust, by, now));
      return server;
    })();
  }

  async getMcpServer(id: string): Promise<McpServer | undefined> {
    return readDoc<McpServer>(this.db, 'mcp_servers', id);
  }

  async listMcpServers(query: McpServerQuery = {}): Promise<Page<McpServer>> {
    const where = new Conditions();
    if (query.trust !== undefined) where.add('trust = ?', query.trust);
    if (query.transport !== undefined) where.add('transport = ?', query.transport);
    if (query.discoveredBy !== undefined) where.add('discovered_by = ?', query.discoveredBy);
    if (query.url !== undefined) {
      const forms = urlForms(query.url);
      where.add(`json_extract(doc, '$.url') IN (${forms.map(() => '?').join(', ')})`, ...forms);
    }
    return pageOfDocs<McpServer>(this.db, 'mcp_servers', where, query);
  }

  async updateMcpServer(id: string, patch: McpServerPatch, options: WriteOptions & { trust?: TrustChange } = {}): Promise<McpServer> {
    this.writes++;
    return this.db.transaction(() => {
      const current = updatable('mcp-server', id, readDoc<McpServer>(this.db, 'mcp_servers', id), options.expectedVersion);
      const now = this.now();
      let next = patchMcpServer(current, patch, now);
      if (options.trust) {
        const applied = applyTrust('mcp-server', next, options.trust, now, false);
        next = applied.record;
        this.appendHistory(applied.transition);
      }
      this.writeMcpServer(next, current.version);
      return next;
    })();
  }

  async deleteMcpServer(id: string): Promise<boolean> {
    this.writes++;
    return this.db.prepare('DELETE FROM mcp_servers WHERE id = ?').run(id).changes > 0;
  }

  // -- trust ----------------------------------------------------------------------------------

  setTrust(kind: 'agent', id: string, change: TrustChange): Promise<TrustChangeResult<Agent>>;
  setTrust(kind: 'mcp-server', id: string, change: TrustChange): Promise<TrustChangeResult<McpServer>>;
  setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>>;
  async setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>> {
    this.writes++;
    return this.db.transaction(() => {
      const table = kind === 'agent' ? 'agents' : 'mcp_servers';
      const current = readDoc<Agent | McpServer>(this.db, table, id);
      if (!current) throw notFound(kind, id);
      const { record, transition } = applyTrust(kind, current, change, this.now());
      if (kind === 'agent') this.writeAgent(record as Agent, current.version);
      else this.writeMcpServer(record as McpServer, current.version);
      this.appendHistory(transition);
      return { record, transition };
    })();
  }

  async trustHistory(kind: TrustKind, id: string, query: PageQuery = {}): Promise<Page<TrustTransition>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const rows = this.db
      .prepare('SELECT seq, doc FROM trust_history WHERE kind = ? AND entity_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(kind, id, after ? Number(after[0]) : 0, limit + 1) as { seq: number; doc: string }[];
    const page = toPage(rows, limit, (r) => [r.seq]);
    return { ...page, items: page.items.map((r) => JSON.parse(r.doc) as TrustTransition) };
  }

  // -- helpers --------------------------------------------------------------------------------

  private writeAgent(next: Agent, expectedVersion: number): void {
    this.db
      .prepare('UPDATE agents SET version = ?, trust = ?, owner = ?, kind = ?, discovered_by = ?, doc = ? WHERE id = ? AND version = ?')
      .run(
        next.version,
        next.trust,
        next.owner ?? null,
        next.kind,
        next.discoveredBy ?? null,
        JSON.stringify(next),
        next.id,
        expectedVersion,
      );
  }

  private writeMcpServer(next: McpServer, expectedVersion: number): void {
    this.db
      .prepare('UPDATE mcp_servers SET version = ?, trust = ?, transport = ?, discovered_by = ?, doc = ? WHERE id = ? AND version = ?')
      .run(next.version, next.trust, next.transport, next.discoveredBy ?? null, JSON.stringify(next), next.id, expectedVersion);
  }

  private appendHistory(t: TrustTransition): void {
    this.db.prepare('INSERT INTO trust_history (kind, entity_id, doc) VALUES (?, ?, ?)').run(t.kind, t.id, JSON.stringify(t));
  }
}
