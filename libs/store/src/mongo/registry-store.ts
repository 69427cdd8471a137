import type { Collection, Db, Document } from 'mongodb';
import { ConflictError } from '@argus/platform';
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
import { fromDoc, isDuplicateKey, nextSeq, toDoc, type IdDoc } from './common.ts';

const AGENT_EXTRA = ['labelKeys', 'labelPairs'] as const;

function agentDoc(agent: Agent): IdDoc {
  // Labels are also stored as flat arrays so a label filter never builds a field path from user input.
  const entries = Object.entries(agent.labels);
  return toDoc(agent, { labelKeys: entries.map(([k]) => k), labelPairs: entries.map(([k, v]) => `${k}=${v}`) });
}

/**
 * The registry on MongoDB. Every update is a compare-and-set on `version`: a concurrent writer
 * makes the loser fail with `ConflictError` instead of silently overwriting.
 */
export class MongoRegistryStore implements RegistryStore {
  private readonly humans: Collection<IdDoc>;
  private readonly agents: Collection<IdDoc>;
  private readonly servers: Collection<IdDoc>;
  private readonly history: Collection<Document>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.humans = db.collection('humans');
    this.agents = db.collection('agents');
    this.servers = db.collection('mcp_servers');
    this.history = db.collection('trust_history');
  }

  private now(): string {
    return this.clock().toISOString();
  }

  async createHuman(input: NewHuman): Promise<Human> {
    const human = newHuman(input, this.now());
    await this.insert(this.humans, toDoc(human), 'human', human.id);
    return human;
  }

  async getHuman(id: string): Promise<Human | undefined> {
    return fromDoc<Human>(await this.humans.findOne({ _id: id }));
  }

  async listHumans(query: HumanQuery = {}): Promise<Page<Human>> {
    const filter: Document = {};
    if (query.role !== undefined) filter.roles = query.role;
    return this.list<Human>(this.humans, filter, query);
  }

  async updateHuman(id: string, patch: HumanPatch, options: WriteOptions = {}): Promise<Human> {
    const current = updatable('human', id, await this.getHuman(id), options.expectedVersion);
    const next = patchHuman(current, patch, this.now());
    await this.replace(this.humans, toDoc(next), 'human', current.version);
    return next;
  }

  async deleteHuman(id: string): Promise<boolean> {
    return (await this.humans.deleteOne({ _id: id })).deletedCount > 0;
  }

  async createAgent(input: NewAgent, by: string): Promise<Agent> {
    const now = this.now();
    const agent = newAgent(input, now);
    await this.insert(this.agents, agentDoc(agent), 'agent', agent.id);
    await this.appendHistory(initialTransition('agent', agent.id, agent.trust, by, now));
    return agent;
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    return fromDoc<Agent>(await this.agents.findOne({ _id: id }), AGENT_EXTRA);
  }

  async listAgents(query: AgentQuery = {}): Promise<Page<Agent>> {
    const filter: Document = {};
    if (query.trust !== undefined) filter.trust = query.trust;
    if (query.owner !== undefined) filter.owner = query.owner;
    if (query.kind !== undefined) filter.kind = query.kind;
    if (query.discoveredBy !== undefined) filter.discoveredBy = query.discoveredBy;
    if (query.label !== undefined) {
      if (query.label.value === undefined) filter.labelKeys = query.label.key;
      else filter.labelPairs = `${query.label.key}=${query.label.value}`;
    }
    return this.list<Agent>(this.agents, filter, query, AGENT_EXTRA);
  }

  async updateAgent(id: string, patch: AgentPatch, options: WriteOptions = {}): Promise<Agent> {
    const current = updatable('agent', id, await this.getAgent(id), options.expectedVersion);
    const next = patchAgent(current, patch, this.now());
    await this.replace(this.agents, agentDoc(next), 'agent', current.version);
    return next;
  }

  async markSeen(ids: readonly string[], at: string): Promise<number> {
    if (ids.length === 0) return 0;
    const seen = (id: string) => ({
      updateOne: {
        filter: { _id: id, $or: [{ lastSeen: { $exists: false } }, { lastSeen: { $lt: at } }] },
        update: { $set: { lastSeen: at } },
      },
    });
    return (await this.agents.bulkWrite(ids.map(seen), { ordered: false })).modifiedCount;
  }

  async deleteAgent(id: string): Promise<boolean> {
    return (await this.agents.deleteOne({ _id: id })).deletedCount > 0;
  }

  async createMcpServer(input: NewMcpServer, by: string): Promise<McpServer> {
    const now = this.now();
    const server = newMcpServer(input, now);
    await this.insert(this.servers, toDoc(server), 'mcp-server', server.id);
    await this.appendHistory(initialTransition('mcp-server', server.id, server.trust, by, now));
    return server;
  }

  async getMcpServer(id: string): Promise<McpServer | undefined> {
    return fromDoc<McpServer>(await this.servers.findOne({ _id: id }));
  }

  async listMcpServers(query: McpServerQuery = {}): Promise<Page<McpServer>> {
    const filter: Document = {};
    if (query.trust !== undefined) filter.trust = query.trust;
    if (query.transport !== undefined) filter.transport = query.transport;
    if (query.discoveredBy !== undefined) filter.discoveredBy = query.discoveredBy;
    if (query.url !== undefined) filter.url = { $in: urlForms(query.url) };
    return this.list<McpServer>(this.servers, filter, query);
  }

  async updateMcpServer(id: string, patch: McpServerPatch, options: WriteOptions & { trust?: TrustChange } = {}): Promise<McpServer> {
    const current = updatable('mcp-server', id, await this.getMcpServer(id), options.expectedVersion);
    const now = this.now();
    let next = patchMcpServer(current, patch, now);
    let transition: TrustTransition | undefined;
    if (options.trust) ({ record: next, transition } = applyTrust('mcp-server', next, options.trust, now, false));
    await this.replace(this.servers, toDoc(next), 'mcp-server', current.version);
    // The record is written first: a crash in between loses a history line, never a demotion.
    if (transition) await this.appendHistory(transition);
    return next;
  }

  async deleteMcpServer(id: string): Promise<boolean> {
    return (await this.servers.deleteOne({ _id: id })).deletedCount > 0;
  }

  setTrust(kind: 'agent', id: string, change: TrustChange): Promise<TrustChangeResult<Agent>>;
  setTrust(kind: 'mcp-server', id: string, change: TrustChange): Promise<TrustChangeResult<McpServer>>;
  setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>>;
  async setTrust(kind: TrustKind, id: string, change: TrustChange): Promise<TrustChangeResult<Agent | McpServer>> {
    const current = kind === 'agent' ? await this.getAgent(id) : await this.getMcpServer(id);
    if (!current) throw notFound(kind, id);
    const { record, transition } = applyTrust(kind, current, change, this.now());
    if (kind === 'agent') await this.replace(this.agents, agentDoc(record as Agent), kind, current.version);
    else await this.replace(this.servers, toDoc(record), kind, current.version);
    await this.appendHistory(transition);
    return { record, transition };
  }

  async trustHistory(kind: TrustKind, id: string, query: PageQuery = {}): Promise<Page<TrustTransition>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const docs = await this.history
      .find({ kind, entityId: id, seq: { $gt: after ? Number(after[0]) : 0 } })
      .sort({ seq: 1 })
      .limit(limit + 1)
      .toArray();
    const page = toPage(docs, limit, (d) => [d.seq as number]);
    return { ...page, items: page.items.map((d) => d.transition as TrustTransition) };
  }

  private async appendHistory(t: TrustTransition): Promise<void> {
    const seq = await nextSeq(this.db, 'trust_history');
    await this.history.insertOne({ kind: t.kind, entityId: t.id, seq, transition: t });
  }

  private async insert(collection: Collection<IdDoc>, doc: IdDoc, kind: string, id: string): Promise<void> {
    try {
      await collection.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw duplicate(kind, id);
      throw err;
    }
  }

  private async replace(collection: Collection<IdDoc>, doc: IdDoc, kind: string, expectedVersion: number): Promise<void> {
    const r = await collection.replaceOne({ _id: doc._id, version: expectedVersion }, doc);
    if (r.matchedCount === 0) {
      throw new ConflictError(`${kind} \`${String(doc._id)}\` was changed concurrently`, [
        { path: '/version', message: 'concurrent update' },
      ]);
    }
  }

  private async list<T extends { id: string }>(
    collection: Collection<IdDoc>,
    filter: Document,
    query: PageQuery,
    drop: readonly string[] = [],
  ): Promise<Page<T>> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    if (after) filter._id = { $gt: String(after[0]) };
    const docs = await collection
      .find(filter)
      .sort({ _id: 1 })
      .limit(limit + 1)
      .toArray();
    return toPage(
      docs.map((d) => fromDoc<T>(d, drop)!),
      limit,
      (r) => [r.id],
    );
  }
}
