import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '../testing/index.ts';
import { MemoryApprovalStore } from './memory-approval-store.ts';
import { RedisApprovalStore } from './redis-approval-store.ts';
import { SqliteApprovalStore } from './sqlite-approval-store.ts';
import { approvalStoreContract } from '../testing/contract-approvals.ts';

let client: Redis;
const dir = mkdtempSync(join(tmpdir(), 'argus-approvals-'));

beforeAll(async () => {
  client = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
});
afterAll(async () => {
  await client.quit();
  rmSync(dir, { recursive: true, force: true });
});

approvalStoreContract('memory', async () => ({ store: new MemoryApprovalStore(), close: async () => {} }));

approvalStoreContract('redis', async () => {
  const prefix = testPrefix();
  return { store: new RedisApprovalStore(client, { prefix }), close: async () => void (await deleteKeys(SHARED_REDIS_URL, prefix)) };
});

let n = 0;
approvalStoreContract('sqlite', async () => {
  const db = new BetterSqlite3(join(dir, `approvals-${n++}.db`));
  db.pragma('journal_mode = WAL');
  return { store: new SqliteApprovalStore(db), close: async () => void db.close() };
});
