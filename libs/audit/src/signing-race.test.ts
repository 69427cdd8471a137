/**
 * Replicas that share a data directory and start together must agree on one checkpoint key: the
 * key file is generated once (written whole, then linked into place) and every other process reads
 * it, instead of failing with EEXIST or reading a half-written file.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTsx } from '@argus/platform/testing/line-child';
import { afterAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./testing/signing-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the checkpoint key across processes', () => {
  it('six processes resolving the key of one new directory at once all get the same key', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'argus-signing-race-'));
      dirs.push(dir);
      const children = Array.from({ length: 6 }, () => spawnTsx(CHILD, [dir]));
      await Promise.all(children.map((c) => c.waitFor((l) => l === 'READY')));
      for (const c of children) c.child.stdin.write('go\n');
      const answers = await Promise.all(children.map((c) => c.waitFor((l) => l.startsWith('KEY ') || l.startsWith('ERROR '))));
      expect(answers.filter((a) => a.startsWith('ERROR'))).toEqual([]);
      expect(new Set(answers).size).toBe(1);
      expect(existsSync(join(dir, 'audit-key.pub'))).toBe(true);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  }, 180_000);
});
