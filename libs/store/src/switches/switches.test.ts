import { afterAll, describe } from 'vitest';
import { MongoClient } from 'mongodb';
import { switchStoreContract } from '../testing/contract-switches.ts';
import { openSqlite } from '../sqlite/open.ts';
import { MemorySwitchStore } from './memory-switch-store.ts';
import { SqliteSwitchStore } from './sqlite-switch-store.ts';
import { MongoSwitchStore } from './mongo-switch-store.ts';

switchStoreContract('memory', async (clock) => ({ store: new MemorySwitchStore(clock.now), close: async () => undefined }));

switchStoreContract('sqlite', async (clock) => {
  const s = openSqlite(':memory:', { clock: clock.now });
  return {
    store: new SqliteSwitchStore(s.db, clock.now),
    close: async () => void (s.db.open && s.db.close()),
    breakIt: async () => void s.db.close(),
  };
});

const mongoUrl = process.env.MONGODB_URL;
if (!mongoUrl) {
  console.warn('[store] MongoDB switch contract SKIPPED: MONGODB_URL is not set. Set MONGODB_URL=mongodb://host:27017 to run it.');
  describe.skip('MongoDB switches (skipped: MONGODB_URL not set)', () => {
    switchStoreContract('mongo', async () => {
      throw new Error('MONGODB_URL not set');
    });
  });
} else {
  const databases: string[] = [];
  let n = 0;
  afterAll(async () => {
    const client = new MongoClient(mongoUrl);
    await client.connect();
    for (const d of databases) await client.db(d).dropDatabase();
    await client.close();
  });
  switchStoreContract('mongo', async (clock) => {
    const database = `argus_test_switches_${process.pid}_${Date.now()}_${n++}`;
    databases.push(database);
    const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 2_000 });
    await client.connect();
    let closed = false;
    return {
      store: new MongoSwitchStore(client.db(database), clock.now),
      close: async () => {
        if (!closed) await client.close();
        closed = true;
      },
      breakIt: async () => {
        closed = true;
        await client.close();
      },
    };
  });
}
