import type { Db, MongoClient } from 'mongodb';
import { UnavailableError } from '@argus/platform';
import { systemClock, type Clock } from '../paging.ts';
import { MongoDelegationStore } from './delegation-store.ts';
import { MongoGoalStore } from './goal-store.ts';
import { MongoPolicyVersionStore } from './policy-version-store.ts';
import { MongoRegistryStore } from './registry-store.ts';

/** The MongoDB stores over one client. */
export interface MongoStores {
  client: MongoClient;
  db: Db;
  registry: MongoRegistryStore;
  policies: MongoPolicyVersionStore;
  delegations: MongoDelegationStore;
  goals: MongoGoalStore;
}

/** Connection settings for MongoDB. */
export interface MongoOptions {
  clock?: Clock;
  /** Database name; defaults to the one in the URL, else `argus`. */
  database?: string;
  serverSelectionTimeoutMs?: number;
  maxPoolSize?: number;
}

/** Every index the stores rely on; created (idempotently) at start-up. */
async function ensureIndexes(db: Db): Promise<void> {
  await Promise.all([
    db.collection('humans').createIndexes([{ key: { roles: 1, _id: 1 } }]),
    db
      .collection('agents')
      .createIndexes([
        { key: { trust: 1, _id: 1 } },
        { key: { owner: 1, _id: 1 } },
        { key: { kind: 1, _id: 1 } },
        { key: { discoveredBy: 1, _id: 1 } },
        { key: { labelKeys: 1, _id: 1 } },
        { key: { labelPairs: 1, _id: 1 } },
      ]),
    db
      .collection('mcp_servers')
      .createIndexes([{ key: { trust: 1, _id: 1 } }, { key: { transport: 1, _id: 1 } }, { key: { discoveredBy: 1, _id: 1 } }]),
    db.collection('trust_history').createIndexes([{ key: { kind: 1, entityId: 1, seq: 1 } }]),
    db.collection('policy_versions').createIndexes([{ key: { seq: -1 } }]),
    db.collection('policy_activations').createIndexes([{ key: { seq: -1 } }]),
    db
      .collection('delegations')
      .createIndexes([
        { key: { 'from.type': 1, 'from.id': 1, seq: -1 } },
        { key: { 'to.type': 1, 'to.id': 1, seq: -1 } },
        { key: { parentId: 1 } },
        { key: { seq: -1 } },
      ]),
    db.collection('goals').createIndexes([{ key: { owner: 1, _id: 1 } }, { key: { status: 1, _id: 1 } }, { key: { agents: 1, _id: 1 } }]),
  ]);
}

/** Connects, creates the indexes and builds the stores. */
export async function openMongo(url: string, options: MongoOptions = {}): Promise<MongoStores> {
  // The driver loads here, when a MongoDB store is opened: a process on SQLite never pays for it.
  const driver = await import('mongodb');
  const client = new driver.MongoClient(url, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
    maxPoolSize: options.maxPoolSize ?? 20,
  });
  try {
    await client.connect();
    const db = client.db(options.database ?? (client.options.dbName || 'argus'));
    await ensureIndexes(db);
    const clock = options.clock ?? systemClock;
    return {
      client,
      db,
      registry: new MongoRegistryStore(db, clock),
      policies: new MongoPolicyVersionStore(db, clock),
      delegations: new MongoDelegationStore(db, clock),
      goals: new MongoGoalStore(db, clock),
    };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new UnavailableError('cannot connect to MongoDB', err);
  }
}
