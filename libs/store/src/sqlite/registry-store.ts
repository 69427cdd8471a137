import type { Database } from 'better-sqlite3';
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

type Row = { doc: string };

/** The registry on SQLite: one row per record (indexed columns + the JSON document). */
export class SqliteRegistryStore implements RegistryStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  private now(): string {
    return this.clock().toISOString();
  }

  // -- humans ---------------------------------------------------------------------------------

  async createHuman(input: NewHuman): Promise<Human> {
    const human = newHuman(input, this.now());
    const r = this.db
      .prepare('INSERT OR IGNORE INTO humans (id, version, doc) VALUES (?, ?, ?)')
      .run(human.id, human.version, JSON.stringify(human));
    if (r.changes === 0) throw duplicate('human', input.id);
    return human;
  }

  async getHuman(id: string): Promise<Human | undefined> {
    return this.getDoc<Human>('humans', id);
  }

  async listHumans(query: HumanQuery = {}): Promise<Page<Human>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.role !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM json_each(humans.doc, '$.roles') WHERE value = ?)`);
      args.push(query.role);
    }
    return this.listDocs<Human>('humans', where, args, query);
  }

  async updateHuman(id: string, patch: HumanPatch, options: WriteOptions = {}): Promise<Human> {
    return this.db.transaction(() => {
      const current = updatable('human', id, this.getDoc<Human>('humans', id), options.expectedVersion);
      const next = patchHuman(current, patch, this.now());
      this.db
        .prepare('UPDATE humans SET version = ?, doc = ? WHERE id = ? AND version = ?')
        .run(next.version, JSON.stringify(next), id, current.version);
      return next;
    })();
  }

  async deleteHuman(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM humans WHERE id = ?').run(id).changes > 0;
  }

  // -- agents ---------------------------------------------------------------------------------

  async createAgent(input: NewAgent, by: string): Promise<Agent> {
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
    return this.getDoc<Agent>('agents', id);
  }

  async listAgents(query: AgentQuery = {}): Promise<Page<Agent>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.trust !== undefined) {
      where.push('trust = ?');
      args.push(query.trust);
    }
    if (query.owner !== undefined) {
      where.push('owner = ?');
      args.push(query.owner);
    }
    if (query.kind !== undefined) {
      where.push('kind = ?');
      args.push(query.kind);
    }
    if (query.discoveredBy !== undefined) {
      where.push('discovered_by = ?');
      args.push(query.discoveredBy);
    }
    if (query.label !== undefined) {
      if (query.label.value === undefined) {
        where.push(`EXISTS (SELECT 1 FROM json_each(agents.doc, '$.labels') WHERE key = ?)`);
        args.push(query.label.key);
      } else {
        where.push(`EXISTS (SELECT 1 FROM json_each(agents.doc, '$.labels') WHERE key = ? AND value = ?)`);
        args.push(query.label.key, query.label.value);
      }
    }
    return this.listDocs<Agent>('agents', where, args, query);
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
    return this.db.transaction(() => {
      const current = updatable('agent', id, this.getDoc<Agent>('agents', id), options.expectedVersion);
      const next = patchAgent(current, patch, this.now());
      this.writeAgent(next, current.version);
      return next;
    })();
  }

  async deleteAgent(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM agents WHERE id = ?').run(id).changes > 0;
  }

  // -- MCP servers ----------------------------------------------------------------------------

  async createMcpServer(input: NewMcpServer, by: string): Promise<McpServer> {
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
    return this.getDoc<McpServer>('mcp_servers', id);
  }

  async listMcpServers(query: McpServerQuery = {}): Promise<Page<McpServer>> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.trust !== undefined) {
      where.push('trust = ?');
      args.push(query.trust);
    }
    if (query.transport !== undefined) {
      where.push('transport = ?');
      args.push(query.transport);
    }
    if (query.discoveredBy !== undefined) {
      where.push('discovered_by = ?');
      args.push(query.discoveredBy);
    }
    if (query.url !== undefined) {
      const forms = urlForms(query.url);
      where.push(`json_extract(doc, '$.url') IN (${forms.map(() => '?').join(', ')})`);
      args.push(...forms);
    }
    return this.listDocs<McpServer>('mcp_servers', where, args, query);
  }

  async updateMcpServer(id: string, patch: McpServerPatch, options: WriteOptions & { trust?: TrustChange } = {}): Promise<McpServer> {
    return this.db.transaction(() => {
      const current = updatable('mcp-server', id, this.getDoc<McpServer>('mcp_servers', id), options.expectedVersion);
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
    return this.db.prepare('DELETE FROM mcp_servers WHERE id = ?').run(id).changes > 0;
  }

  // -- trust ----------------------------------------------------------------------------------

  setTrust(kind: 'agent', id: string, change: TrustChange): Promise<TrustChangeResult<Agent>>;
  setTrust(kind: 'mcp-server', id: string, change: TrustChange): Promise<TrustChangeResult<McpServer>>;
  setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>>;
  async setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>> {
    return this.db.transaction(() => {
      const table = kind === 'agent' ? 'agents' : 'mcp_servers';
      const current = this.getDoc<Agent | McpServer>(table, id);
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

  private getDoc<T>(table: string, id: string): T | undefined {
    const row = this.db.prepare(`SELECT doc FROM ${table} WHERE id = ?`).get(id) as Row | undefined;
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  private listDocs<T extends { id: string }>(table: string, where: string[], args: unknown[], query: PageQuery): Page<T> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    if (after) {
      where.push('id > ?');
      args.push(String(after[0]));
    }
    const sql = `SELECT doc FROM ${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    const rows = (this.db.prepare(sql).all(...args, limit + 1) as Row[]).map((r) => JSON.parse(r.doc) as T);
    return toPage(rows, limit, (r) => [r.id]);
  }
}
