import { describe, expect, it } from 'vitest';
import { parseProxyConfig } from './config.ts';
import shipped from './prices.json' with { type: 'json' };
import { costOf, createPriceTable } from './prices.ts';

describe('price table', () => {
  it('ships a price for current OpenAI and Anthropic models, each with input and output', () => {
    for (const model of ['gpt-5.5', 'gpt-5.4-mini', 'gpt-4o', 'gpt-4.1', 'o3', 'claude-opus-5', 'claude-sonnet-5-5', 'claude-haiku-4-5']) {
      expect(createPriceTable().lookup(model)?.pricedAs, model).toBe(model);
    }
    for (const price of Object.values(shipped.models)) {
      expect(price.inputUsdPerMTok).toBeGreaterThan(0);
      expect(price.outputUsdPerMTok).toBeGreaterThanOrEqual(price.inputUsdPerMTok);
    }
    expect(shipped.takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('prices a dated snapshot or -latest alias as its undated model, but never a neighbouring model', () => {
    const table = createPriceTable();
    expect(table.lookup('gpt-4o-2024-08-06')?.pricedAs).toBe('gpt-4o');
    expect(table.lookup('claude-haiku-4-5-20251001')?.pricedAs).toBe('claude-haiku-4-5');
    expect(table.lookup('claude-3-7-sonnet-latest')?.pricedAs).toBe('claude-3-7-sonnet');
    expect(table.lookup('gpt-4o-mini-2024-07-18')?.pricedAs).toBe('gpt-4o-mini');
    expect(table.lookup('gpt-4o-audio-preview')).toBeUndefined();
    expect(table.lookup('mystery')).toBeUndefined();
  });

  it('bills cached reads and cache writes at their own prices, the rest of the input at the input price', () => {
    const price = { inputUsdPerMTok: 3, outputUsdPerMTok: 15, cachedInputUsdPerMTok: 0.3, cacheWriteUsdPerMTok: 3.75 };
    expect(costOf(price, { inputTokens: 1300, cachedInputTokens: 1000, cacheWriteTokens: 200, outputTokens: 50 })).toBe(0.0021);
    expect(costOf({ inputUsdPerMTok: 2.5, outputUsdPerMTok: 10 }, { inputTokens: 1000, cachedInputTokens: 200, outputTokens: 500 })).toBe(
      0.0075,
    );
    // Cached counts larger than the input (a malformed answer) never make the cost negative.
    expect(costOf(price, { inputTokens: 10, cachedInputTokens: 50, cacheWriteTokens: 50 })).toBe(0.000003);
    expect(costOf(price, {})).toBe(0);
  });

  it('lets the configuration override a model, add one, price unknown models, or drop the shipped table', () => {
    const config = parseProxyConfig({
      upstreams: [{ name: 'o', kind: 'openai', prefix: '/o', target: 'http://127.0.0.1:1' }],
      prices: {
        models: { 'gpt-4o': { inputUsdPerMTok: 1, outputUsdPerMTok: 2 }, mine: { inputUsdPerMTok: 0, outputUsdPerMTok: 0 } },
        unknownModel: { inputUsdPerMTok: 10, outputUsdPerMTok: 10 },
      },
    });
    const table = createPriceTable(config.prices);
    expect(table.cost('gpt-4o', { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toEqual({ costUsd: 3, pricedAs: 'gpt-4o' });
    expect(table.cost('mine', { inputTokens: 5 })).toEqual({ costUsd: 0, pricedAs: 'mine' });
    expect(table.cost('mystery', { outputTokens: 100_000 })).toEqual({ costUsd: 1, pricedAs: '*' });
    expect(createPriceTable({ ...config.prices, shippedDefaults: false, unknownModel: undefined }).lookup('gpt-5')).toBeUndefined();
    expect(parseProxyConfig({ upstreams: config.upstreams }).prices).toEqual({ models: {}, shippedDefaults: true });
  });

  it('refuses a price without output, or a negative one, naming the path', () => {
    const upstreams = [{ name: 'o', kind: 'openai', prefix: '/o', target: 'http://127.0.0.1:1' }];
    expect(() => parseProxyConfig({ upstreams, prices: { models: { m: { inputUsdPerMTok: 1 } } } })).toThrow(
      expect.objectContaining({ errors: expect.arrayContaining([expect.objectContaining({ path: '/prices/models/m/outputUsdPerMTok' })]) }),
    );
    expect(() => parseProxyConfig({ upstreams, prices: { unknownModel: { inputUsdPerMTok: -1, outputUsdPerMTok: 1 } } })).toThrow(
      expect.objectContaining({
        errors: expect.arrayContaining([expect.objectContaining({ path: '/prices/unknownModel/inputUsdPerMTok' })]),
      }),
    );
  });
});
