import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../chain.ts';
import { sampleChain } from '../testing/query-store-contract.ts';
import type { ChainedRecord } from '../types.ts';
import { createJsonlSink } from './jsonl.ts';
import { createStdoutSink } from './stdout.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-audit-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (path: string): ChainedRecord[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ChainedRecord);

describe('jsonl sink', () => {
  it('rotates by size, keeps maxFiles, and reports the head', async () => {
    const path = join(dir, 'rot', 'audit.jsonl');
    const sink = createJsonlSink({ path, maxBytes: 4096, maxFiles: 2, fsync: true });
    const records = sampleChain(40);
    for (let i = 0; i < 40; i += 4) await sink.write(records.slice(i, i + 4));
    expect(await sink.head!('w1')).toEqual({ seq: 40, hash: records[39]!.hash });
    await sink.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const kept = [...lines(`${path}.2`), ...lines(`${path}.1`), ...lines(path)];
    expect(kept[kept.length - 1]!.seq).toBe(40);
    expect(verifyChain(kept, undefined, { fromSeq: kept[0]!.seq }).ok).toBe(true);
    for (const f of [path, `${path}.1`]) expect(readFileSync(f).length).toBeLessThanOrEqual(4096);
  });

  it('has no head for an unknown writer or an empty file', async () => {
    const sink = createJsonlSink({ path: join(dir, 'empty', 'a.jsonl') });
    expect(await sink.head!('w1')).toBeUndefined();
    await sink.close();
  });
});

describe('stdout sink', () => {
  it('writes one JSON line per record', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const sink = createStdoutSink(out);
    await sink.write(sampleChain(3));
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as ChainedRecord).seq),
    ).toEqual([1, 2, 3]);
  });
});
