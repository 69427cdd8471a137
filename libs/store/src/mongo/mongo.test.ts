import { afterAll, describe } from 'vitest';
import { MongoClient } from 'mongodb';
import { delegationStoreContract, goalStoreContract, policyVersionStoreContract, registryStoreContract } from '../testing/index.ts';
import { openMongo, type MongoStores } from './open.ts';

const url = process.env.MONGODB_URL;

if (!url) {
  console.warn(
    '[store] MongoDB contract suites SKIPPED: MONGODB_URL is not set (no MongoDB server on this machine). ' +
      'Set MONGODB_URL=mongodb://host:27017 to run the registry, policy-version, delegation and goal contracts against MongoDB.',
  );
  // The same suites, registered under a skipped block so every MongoDB test is counted as skipped.
  const unreachable = async (): Promise<never> => {
    throw new Error('MONGODB_URL not set');
  };
  describe.skip('MongoDB adapter (skipped: MONGODB_URL not set)', () => {
    registryStoreContract('mongo', unreachable);
    policyVersionStoreContract('mongo', unreachable);
    delegationStoreContract('mongo', unreachable);
    goalStoreContract('mongo', unreachable);
  });
} else {
  const mongoUrl = url;
  const databases: string[] = [];
  let n = 0;
  /** A fresh database per test, dropped at the end. */
  async function fresh(clock: { now: () => Date }): Promise<{ s: MongoStores; close: () => Promise<void> }> {
    const database = `argus_test_${process.pid}_${Date.now()}_${n++}`;
    databases.push(database);
    const s = await openMongo(mongoUrl, { clock: clock.now, database });
    return { s, close: () => s.client.close() };
  }
  afterAll(async () => {
    const client = new MongoClient(mongoUrl);
    await client.connect();
    for (const d of databases) await client.db(d).dropDatabase();
    await client.close();
  });
  registryStoreContract('mongo', async (clock) => {
    const { s, close } = await fresh(clock);
    return { store: s.registry, close };
  });
  policyVersionStoreContract('mongo', async (clock) => {
    const { s, close } = await fresh(clock);
    return { store: s.policies, close };
  });
  delegationStoreContract('mongo', async (clock) => {
    const { s, close } = await fresh(clock);
    return { store: s.delegations, close };
  });
  goalStoreContract('mongo', async (clock) => {
    const { s, close } = await fresh(clock);
    return { store: s.goals, close };
  });
}
