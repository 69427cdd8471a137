import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, describe, it } from 'vitest';
import { describeQueryStoreContract } from '../testing/query-store-contract.ts';
import { openMongoAuditStore } from './mongodb.ts';

const url = process.env.MONGODB_URL;

if (!url) {
  console.warn('[audit] MongoDB contract tests SKIPPED: MONGODB_URL is not set (no MongoDB server on this machine)');
  describe.skip('AuditQueryStore contract: mongodb (MONGODB_URL not set)', () => {
    it('needs MONGODB_URL', () => undefined);
  });
} else {
  const database = `argus_audit_test_${randomBytes(4).toString('hex')}`;
  let n = 0;
  describeQueryStoreContract('mongodb', async () => openMongoAuditStore({ url, database, collection: `records_${n++}` }));
  afterAll(async () => {
    const client = new MongoClient(url);
    await client.connect();
    await client.db(database).dropDatabase();
    await client.close();
  });
}
