/**
 * Two processes share one SQLite file and race on the last slot of many quota counters at once:
 * for every counter exactly one of them may get it (`BEGIN IMMEDIATE` takes the write lock before
 * the count is read), and the counter recorded with it moves in step. Real separate processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTsx, type LineChild } from '@argus/platform/testing/line-child';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../sqlite/open.ts';
import { SqliteWindowCounter } from '../sqlite/window-counter.ts';

const CHILD = fileURLToPath(new URL('./window-race-child.ts', import.meta.url));
const COUNTERS = 300;
const dir = mkdtempSync(join(tmpdir(), 'argus-window-race-'));
const file = join(dir, 'argus.db');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function racer(order: 'forward' | 'reverse'): LineChild {
  return spawnTsx(CHILD, [file, String(COUNTERS), order]);
}

describe('SqliteWindowCounter across processes', () => {
  it('two processes racing on the last slot: exactly one gets it, for every counter, all or nothing', async () => {
    openSqlite(file).db.close(); // migrate once, before the racers open the file
    const a = racer('forward');
    const b = racer('reverse');
    await Promise.all([a.waitFor(1), b.waitFor(1)]);
    a.child.stdin.write('go\n');
    b.child.stdin.write('go\n');
    await Promise.all([a.waitFor(2), b.waitFor(2)]);
    const gotA = JSON.parse(a.lines[1]!) as number[];
    const gotB = JSON.parse(b.lines[1]!) as number[];
    expect(gotA.length + gotB.length).toBe(COUNTERS);
    expect(new Set([...gotA, ...gotB]).size).toBe(COUNTERS);
    // How the slots split says how much the two really overlapped (one may finish before the other
    // starts on a quiet machine); every slot given exactly once is the claim, whatever the split.
    console.log(`sqlite window race: process A won ${gotA.length}, process B won ${gotB.length} of ${COUNTERS} last slots`);
    const { db } = openSqlite(file);
    const counter = new SqliteWindowCounter(db);
    for (const i of [0, COUNTERS - 1])
      expect(
        await counter.countAll([
          { key: `quota:a:${i}`, windowMs: 3_600_000 },
          { key: `quota:b:${i}`, windowMs: 3_600_000 },
        ]),
      ).toEqual([1, 1]);
    db.close();
  });
});
