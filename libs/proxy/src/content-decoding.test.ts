import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliCompressSync, deflateRawSync, deflateSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDeflateDecoder } from './streaming.ts';
import { errorKind } from './upstream-errors.ts';

async function decode(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    createDeflateDecoder(),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out).toString('utf8');
}

function split(buf: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return parts;
}

describe('content-encoding: deflate', () => {
  const text = JSON.stringify({ answer: 'x'.repeat(5000), n: 42 });

  it('reads the zlib format and raw deflate data alike, in any chunking', async () => {
    for (const encoded of [deflateSync(text), deflateRawSync(text)]) {
      for (const size of [1, 2, 7, 4096, encoded.length]) expect(await decode(split(encoded, size))).toBe(text);
    }
    expect(await decode([])).toBe('');
  });

  it('fails a corrupt body with an error the proxy records as an encoding failure', async () => {
    const err = await decode([Buffer.from('not deflate at all, not even raw')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(errorKind(err)).toBe('encoding');
    const { createBrotliDecompress } = await import('node:zlib');
    const br = await pipeline(
      Readable.from([brotliCompressSync(text).subarray(0, 20), Buffer.from('junk')]),
      createBrotliDecompress(),
      new Writable({ write: (_c, _e, cb) => cb() }),
    ).catch((e: unknown) => e);
    expect(errorKind(br)).toBe('encoding');
  });
});
