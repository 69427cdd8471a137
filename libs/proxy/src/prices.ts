/**
 * What a model call costs in USD: the shipped price table (`prices.json`, per 1M tokens) under the
 * configuration's `proxy.prices.models`, applied to the token usage read from the answer.
 */
import shipped from './prices.json' with { type: 'json' };
import type { TokenUsage } from './usage.ts';

/** The price of one model in USD per 1,000,000 tokens (`schemas/config/proxy.schema.json#/$defs/price`). */
export interface ModelPrice {
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
  /** Input read from the provider's prompt cache; the input price when absent. */
  cachedInputUsdPerMTok?: number;
  /** Input written to the provider's prompt cache (Anthropic); the input price when absent. */
  cacheWriteUsdPerMTok?: number;
}

/** The `proxy.prices` configuration section. */
export interface PricesConfig {
  /** Model → price, over the shipped table (a name here replaces the shipped entry). */
  models?: Record<string, ModelPrice>;
  /** Price of a model in neither table; without it such a call is charged no cost. */
  unknownModel?: ModelPrice;
  /** False: only `models` is used (the shipped table is ignored). */
  shippedDefaults?: boolean;
}

/** The date the shipped prices were taken from the providers' pricing pages. */
export const SHIPPED_PRICES_TAKEN_ON: string = shipped.takenOn;

/** A priced call: the cost, and which table entry priced it (`*` for `unknownModel`). */
export interface Priced {
  costUsd: number;
  pricedAs: string;
}

/** The price table the proxy charges goal budgets with. */
export interface PriceTable {
  /** The price of `model`: its exact name, else the name without a date snapshot or `-latest` suffix. */
  lookup(model: string): { price: ModelPrice; pricedAs: string } | undefined;
  /** The cost of `usage` on `model`, or undefined when the model has no price (nothing is charged). */
  cost(model: string, usage: TokenUsage): Priced | undefined;
}

/** A dated snapshot (`-2025-08-07`, `-20250929`) or moving alias (`-latest`) at the end of a model name. */
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

/** Builds the table: the shipped prices (unless turned off) overridden by the configured ones. */
export function createPriceTable(config: PricesConfig = {}): PriceTable {
  const prices = new Map<string, ModelPrice>();
  if (config.shippedDefaults !== false) for (const [name, price] of Object.entries(shipped.models)) prices.set(name, price);
  for (const [name, price] of Object.entries(config.models ?? {})) prices.set(name, price);
  const lookup: PriceTable['lookup'] = (model) => {
    const exact = prices.get(model);
    if (exact) return { price: exact, pricedAs: model };
    const base = model.replace(SNAPSHOT_SUFFIX, '');
    const undated = base !== model ? prices.get(base) : undefined;
    if (undated) return { price: undated, pricedAs: base };
    return config.unknownModel ? { price: config.unknownModel, pricedAs: '*' } : undefined;
  };
  return {
    lookup,
    cost(model, usage) {
      const found = lookup(model);
      return found ? { costUsd: costOf(found.price, usage), pricedAs: found.pricedAs } : undefined;
    },
  };
}

/**
 * The cost of `usage` at `price`. `inputTokens` holds every input token; the cached reads and the
 * cache writes within it are billed at their own prices, the rest at the input price.
 */
export function costOf(price: ModelPrice, usage: TokenUsage): number {
  const input = usage.inputTokens ?? 0;
  const cached = Math.min(usage.cachedInputTokens ?? 0, input);
  const written = Math.min(usage.cacheWriteTokens ?? 0, input - cached);
  const fresh = input - cached - written;
  const micro =
    fresh * price.inputUsdPerMTok +
    cached * (price.cachedInputUsdPerMTok ?? price.inputUsdPerMTok) +
    written * (price.cacheWriteUsdPerMTok ?? price.inputUsdPerMTok) +
    (usage.outputTokens ?? 0) * price.outputUsdPerMTok;
  // Per-token products are in micro-dollars; rounded to the nano-dollar to keep float noise out of records.
  return Math.round(micro * 1000) / 1e9;
}
