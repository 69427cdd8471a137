import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from './sse.ts';

function stream(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function all(chunks: string[], maxBytes = 1 << 20): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(stream(chunks), maxBytes)) out.push(e);
  return out;
}

describe('readSse', () => {
  it('reads named and default events, multi-line data, comments and every line ending', async () => {
    const events = await all([
      ': hello\n',
      'event: endpoint\r\ndata: /messages?s=1\r\n\r\n',
      'data: {"a":\ndata: 1}\r\r',
      'event: ping\n\n',
      'data:no-space\n\n',
    ]);
    expect(events).toEqual([
      { event: 'endpoint', data: '/messages?s=1' },
      { event: 'message', data: '{"a":\n1}' },
      { event: 'message', data: 'no-space' },
    ]);
  });

  it('joins an event split across chunks, even inside a line', async () => {
    expect(await all(['ev', 'ent: message\nda', 'ta: {"jsonrpc"', ':"2.0"}\n', '\n'])).toEqual([
      { event: 'message', data: '{"jsonrpc":"2.0"}' },
    ]);
  });

  it('stops once more than maxBytes were read', async () => {
    const events = await all(['data: one\n\n', 'data: two\n\n', 'data: three\n\n'], 25);
    expect(events.map((e) => e.data)).toEqual(['one', 'two']);
  });
});
