import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySecretStore } from './memory/memory-secret-store.ts';
import { SqliteSecretStore } from './sqlite/sqlite-secret-store.ts';
import { secretStoreContract } from './testing/contract-secret-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

secretStoreContract('memory', async () => ({ store: new MemorySecretStore({ key: randomBytes(32) }) }));

secretStoreContract('sqlite', async () => {
  const sub = join(dir, `s${n++}`);
  const store = new SqliteSecretStore({ path: join(sub, 'argus.db'), key: randomBytes(32) });
  const raw = () => Buffer.concat(readdirSync(sub).map((f) => readFileSync(join(sub, f))));
  return { store, raw };
});

describe('SqliteSecretStore', () => {
  it('refuses to open values with another key', async () => {
    const path = join(dir, 'rekey.db');
    const a = new SqliteSecretStore({ path, key: randomBytes(32) });
    await a.put('k', 'value-123456');
    await a.close();
    const b = new SqliteSecretStore({ path, key: randomBytes(32) });
    await expect(b.get('k')).rejects.toThrow();
    expect((await b.list()).map((m) => m.name)).toEqual(['k']);
    await b.close();
  });

  it('persists across reopen with the same key', async () => {
    const path = join(dir, 'reopen.db');
    const key = randomBytes(32);
    const a = new SqliteSecretStore({ path, key });
    await a.put('k', 'value-abcdef');
    await a.close();
    const b = new SqliteSecretStore({ path, key });
    expect(await b.get('k')).toBe('value-abcdef');
    await b.close();
  });
});
