import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from './chain.ts';
import { openSqliteAuditStore } from './sinks/sqlite.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'argus-audit-strict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('group commit survives kill -9', () => {
  // 3,000 acknowledgements: past the 1,000 records after which the trail's SQLite sink leaves the
  // WAL's checkpoints to their own thread, so the kill lands while that thread runs.
  it.each([
    ['inline', 300],
    ['worker', 300],
    ['worker-strict', 300],
    ['worker', 3000],
  ] as const)(
    'has every acknowledged decision on disk after SIGKILL (%s, %i acknowledged; worker = the defaults, group commit with durability process)',
    async (thread, target) => {
      const db = join(dir, `audit-${thread}-${target}.db`);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(here, 'testdata', 'strict-child.ts'), db, join(dir, `spill-${thread}-${target}`), thread],
        {
          cwd: join(here, '..'),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const acked: string[] = [];
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let buffer = '';
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child acknowledged only ${acked.length} decisions; stderr: ${stderr.slice(0, 500)}`)),
          50_000,
        );
        child.stdout.on('data', (d: Buffer) => {
          buffer += d.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop()!;
          for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
          if (acked.length >= target) {
            child.kill('SIGKILL');
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          if (acked.length < target) reject(new Error(`child exited early; stderr: ${stderr.slice(0, 500)}`));
        });
      });
      expect(await exited).toBe('SIGKILL');

      const store = openSqliteAuditStore({ path: db, readonly: true });
      const records = [...store.iterate(1, Number.MAX_SAFE_INTEGER)];
      await store.close();
      const onDisk = new Set(records.map((r) => (r.kind === 'decision' ? r.decision_id : '')));
      const lost = acked.filter((id) => !onDisk.has(id));
      expect(lost).toEqual([]);
      expect(records.length).toBeGreaterThanOrEqual(acked.length);
      expect(verifyChain(records).ok).toBe(true);
    },
    70_000,
  );
});
