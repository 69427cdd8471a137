/**
 * Processes opening the same new database files at once: every migration is applied exactly once
 * per file and no opener fails (the runner checks again inside its `BEGIN IMMEDIATE`
 * transaction). Real separate processes (tsx children), files in a temp dir.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./migrations-race-child.ts', import.meta.url));
const FILES = 150;
const RACERS = 3;
const dir = mkdtempSync(join(tmpdir(), 'argus-migrations-race-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  file: number;
  applied?: number[];
  error?: string;
}

/** Starts a racer; resolves `ready` once it waits for `go`, `done` with its lines when it exits. */
function racer(): { ready: Promise<void>; go: () => void; done: Promise<Line[]> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(FILES)], { stdio: 'pipe' });
  let out = '';
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Line[]>((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`racer exited ${code}: ${stderr}`));
      resolve(
        out
          .split('\n')
          .slice(1)
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
      );
    });
  });
  return { ready, go: () => child.stdin.write('go\n'), done };
}

describe('runMigrations under concurrent openers', () => {
  it(`${RACERS} processes opening ${FILES} new files at once: each migration applied once per file, no opener fails`, async () => {
    // Switching a file to WAL is not what is raced here (a concurrent switch may answer "locked").
    for (let i = 0; i < FILES; i++) {
      const db = new BetterSqlite3(join(dir, `race-${i}.db`));
      db.pragma('journal_mode = WAL');
      db.close();
    }
    const racers = Array.from({ length: RACERS }, racer);
    await Promise.all(racers.map((r) => r.ready));
    racers.forEach((r) => r.go());
    const lines = (await Promise.all(racers.map((r) => r.done))).flat();
    expect(lines.filter((l) => l.error !== undefined)).toEqual([]);
    expect(lines).toHaveLength(RACERS * FILES);
    for (let file = 0; file < FILES; file++) {
      const applied = lines.filter((l) => l.file === file).flatMap((l) => l.applied ?? []);
      expect(applied.sort()).toEqual([1, 2]);
    }
    const db = new BetterSqlite3(join(dir, 'race-0.db'), { readonly: true });
    expect(db.prepare(`SELECT version FROM argus_migrations WHERE namespace = 'race' ORDER BY version`).all()).toEqual([
      { version: 1 },
      { version: 2 },
    ]);
    db.close();
  }, 60_000);
});
