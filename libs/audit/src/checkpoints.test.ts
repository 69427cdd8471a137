import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@argus/platform';
import { HeadFile } from './checkpoints.ts';
import type { CheckpointRecord } from './types.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-audit-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkpoint(seq: number, writer = 'w1'): CheckpointRecord {
  return {
    kind: 'checkpoint',
    writer,
    seq,
    prevHash: 'p'.repeat(64),
    hash: String(seq).padStart(64, '0'),
    time: '2026-12-07T00:00:00.000Z',
    checkpoint: { headSeq: seq - 1, headHash: 'h'.repeat(64), alg: 'Ed25519', keyId: 'k'.repeat(16), signature: 's' },
  };
}

describe('the head file', () => {
  it('is written off the thread, one write at a time: the newest checkpoint wins, an older or foreign one never replaces it', async () => {
    const path = join(dir, 'audit-head.json');
    const head = new HeadFile(path, 'w1', silentLogger());
    head.update([checkpoint(5)]);
    // Not written inside the call: the batch's callers are answered without waiting for the disk.
    expect(existsSync(path)).toBe(false);
    head.update([checkpoint(8), checkpoint(10)]);
    head.update([checkpoint(7), checkpoint(12, 'w2')]);
    await head.settled();
    expect((JSON.parse(readFileSync(path, 'utf8')) as CheckpointRecord).seq).toBe(10);
    head.update([checkpoint(11)]);
    await head.settled();
    expect((JSON.parse(readFileSync(path, 'utf8')) as CheckpointRecord).seq).toBe(11);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('logs a write that fails and goes on with the next checkpoint', async () => {
    const warnings: string[] = [];
    const logger = Object.assign(silentLogger(), { warn: (_: unknown, msg: string) => void warnings.push(msg) });
    const head = new HeadFile(join(dir, 'missing', 'audit-head.json'), 'w1', logger);
    head.update([checkpoint(3)]);
    await head.settled();
    expect(warnings).toEqual(['audit head file not written']);
  });
});
