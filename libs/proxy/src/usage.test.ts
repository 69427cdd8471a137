import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseUsageObserver, usageFromObject } from './usage.ts';

const openAiStream = [
  'data: {"id":"c","choices":[{"delta":{"content":"a"}}]}\n\n',
  'data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\n\n',
  'data: [DONE]\n\n',
].join('');

const anthropicStream = [
  'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":11,"cache_read_input_tokens":4,"output_tokens":1}}}\n\n',
  'event: content_block_delta\r\ndata: {"type":"content_block_delta","delta":{"text":"x"}}\r\n\r\n',
  'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":30}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
].join('');

function observe(text: string, cuts: number[]): ReturnType<SseUsageObserver['usage']> {
  const o = new SseUsageObserver();
  const buf = Buffer.from(text);
  let prev = 0;
  for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
    o.push(buf.subarray(prev, c));
    prev = c;
  }
  o.push(buf.subarray(prev));
  return o.usage();
}

describe('usage', () => {
  it('reads OpenAI chat, Responses and Anthropic JSON bodies', () => {
    expect(usageFromObject({ usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })).toEqual({
      inputTokens: 5,
      outputTokens: 1,
      totalTokens: 6,
    });
    expect(
      usageFromObject({ type: 'response.completed', response: { usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } } }),
    ).toEqual({ inputTokens: 3, outputTokens: 4, totalTokens: 7 });
    expect(usageFromObject({ usage: { input_tokens: 10, output_tokens: 2 } })).toEqual({ inputTokens: 10, outputTokens: 2 });
    expect(usageFromObject({ usage: { prompt_tokens: -1, completion_tokens: 1.5 } })).toBeUndefined();
    expect(usageFromObject([1])).toBeUndefined();
  });

  it('reads the final usage of an OpenAI stream and of an Anthropic stream (cache tokens count as input)', () => {
    expect(observe(openAiStream, [])).toEqual({ inputTokens: 7, outputTokens: 2, totalTokens: 9 });
    expect(observe(anthropicStream, [])).toEqual({ inputTokens: 15, outputTokens: 30, totalTokens: 45, cachedInputTokens: 4 });
  });

  it('keeps the cached part of the input and the answering model apart, for pricing', () => {
    expect(
      usageFromObject({
        model: 'gpt-4o-2024-08-06',
        usage: { prompt_tokens: 1000, completion_tokens: 5, total_tokens: 1005, prompt_tokens_details: { cached_tokens: 200 } },
      }),
    ).toEqual({
      inputTokens: 1000,
      outputTokens: 5,
      totalTokens: 1005,
      cachedInputTokens: 200,
      model: 'gpt-4o-2024-08-06',
    });
    expect(
      usageFromObject({
        type: 'response.completed',
        response: {
          model: 'gpt-5',
          usage: { input_tokens: 30, output_tokens: 4, total_tokens: 34, input_tokens_details: { cached_tokens: 10 } },
        },
      }),
    ).toEqual({
      inputTokens: 30,
      outputTokens: 4,
      totalTokens: 34,
      cachedInputTokens: 10,
      model: 'gpt-5',
    });
    expect(
      usageFromObject({
        message: {
          model: 'claude-haiku-4-5',
          usage: { input_tokens: 1, cache_read_input_tokens: 10, cache_creation_input_tokens: 100, output_tokens: 2 },
        },
      }),
    ).toEqual({
      inputTokens: 111,
      outputTokens: 2,
      cachedInputTokens: 10,
      cacheWriteTokens: 100,
      model: 'claude-haiku-4-5',
    });
    expect(usageFromObject({ model: 'x'.repeat(300), usage: { input_tokens: 1 } })).toEqual({ inputTokens: 1 });
  });

  it('gives the same answer however the stream is chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(2000), { maxLength: 12 }), (cuts) => {
        expect(observe(openAiStream, cuts)).toEqual({ inputTokens: 7, outputTokens: 2, totalTokens: 9 });
        expect(observe(anthropicStream, cuts)).toEqual({ inputTokens: 15, outputTokens: 30, totalTokens: 45, cachedInputTokens: 4 });
      }),
      { numRuns: 300 },
    );
  });

  it('survives garbage without throwing', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const o = new SseUsageObserver();
        o.push(Buffer.from(s));
        o.usage();
      }),
    );
    expect(observe('data: {"usage": nope}\n\n', [])).toBeUndefined();
  });

  it('parses with eventsource-parser: a usage event split inside a UTF-8 character, an oversized event dropped, the rest still read', () => {
    const split = 'data: {"model":"modèle","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n';
    const at = Buffer.from(split).indexOf(Buffer.from('è')) + 1;
    expect(observe(split, [at])).toEqual({ model: 'modèle', inputTokens: 3, outputTokens: 1, totalTokens: 4 });
    const huge = `data: ${'x'.repeat(SseUsageObserver.MAX_LINE + 10)}\n\n${openAiStream}`;
    expect(observe(huge, [1000, 500_000])).toEqual({ inputTokens: 7, outputTokens: 2, totalTokens: 9 });
  });
});
