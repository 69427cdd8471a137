import { JSONParser } from '@streamparser/json';
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** Token counts read from an LLM response. */
export interface TokenUsage {
  /** Every input token, cached or not (Anthropic's cache reads and writes included). */
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  /** The part of `inputTokens` read from the provider's prompt cache (billed at the cached-input price). */
  cachedInputTokens?: number;
  /** The part of `inputTokens` written to Anthropic's prompt cache (billed at the cache-write price). */
  cacheWriteTokens?: number;
  /** The model the provider says answered (a dated snapshot, often), when the body names one. */
  model?: string;
  /**
   * Set when a figure is Argus's estimate, not the provider's: a stream cut before it reported
   * its usage (see {@link SseUsageObserver.cutUsage}).
   */
  estimated?: boolean;
}

/**
 * Reads token usage from a decoded OpenAI or Anthropic JSON body or stream event. Looks at
 * `usage`, `message.usage` (Anthropic `message_start`) and `response.usage` (OpenAI Responses
 * `response.completed`). OpenAI names (`prompt_tokens`, `completion_tokens`) and Anthropic /
 * Responses names (`input_tokens`, `output_tokens`, cache tokens counted as input) are both read.
 * The cached part of the input is kept apart for pricing: OpenAI's `*_tokens_details.cached_tokens`
 * (already inside its input count), Anthropic's cache reads and writes (outside its `input_tokens`).
 */
export function usageFromObject(body: unknown): TokenUsage | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const message = pick(b.message);
  const response = pick(b.response);
  const raw = pick(b.usage) ?? pick(message?.usage) ?? pick(response?.usage);
  if (!raw) return undefined;
  const cacheRead = int(raw.cache_read_input_tokens);
  const cacheWrite = int(raw.cache_creation_input_tokens);
  const input = sum(int(raw.prompt_tokens) ?? int(raw.input_tokens), cacheWrite, cacheRead);
  const output = int(raw.completion_tokens) ?? int(raw.output_tokens);
  const total = int(raw.total_tokens);
  const cached = cacheRead ?? int(pick(raw.prompt_tokens_details)?.cached_tokens) ?? int(pick(raw.input_tokens_details)?.cached_tokens);
  const usage: TokenUsage = {};
  if (input !== undefined) usage.inputTokens = input;
  if (output !== undefined) usage.outputTokens = output;
  if (total !== undefined) usage.totalTokens = total;
  if (cached) usage.cachedInputTokens = cached;
  if (cacheWrite) usage.cacheWriteTokens = cacheWrite;
  if (Object.keys(usage).length === 0) return undefined;
  const model = modelName(b.model) ?? modelName(message?.model) ?? modelName(response?.model);
  if (model !== undefined) usage.model = model;
  return usage;
}

/** Merges a later reading into an earlier one (streams report input first, output last). */
export function mergeUsage(a: TokenUsage | undefined, b: TokenUsage | undefined): TokenUsage | undefined {
  if (!a) return b;
  if (!b) return a;
  return { ...a, ...b };
}

/** The final figures, with the total derived when the upstream did not give one. */
export function finalizeUsage(u: TokenUsage | undefined): TokenUsage | undefined {
  if (!u) return undefined;
  if (u.totalTokens === undefined && (u.inputTokens !== undefined || u.outputTokens !== undefined)) {
    return { ...u, totalTokens: (u.inputTokens ?? 0) + (u.outputTokens ?? 0) };
  }
  return u;
}

/**
 * Watches a server-sent-event stream go by (it never alters it) and keeps the latest token usage
 * found in its events: OpenAI's final chunk `usage`, Anthropic's `message_start` and
 * `message_delta`, the Responses API's `response.completed`. Only events mentioning `"usage"` are
 * parsed, so a long stream of deltas costs a substring search each.
 */
export class SseUsageObserver {
  /** Bound on a single pending event, in characters. */
  static readonly MAX_LINE = 1 << 20;
  #usage: TokenUsage | undefined;
  readonly #decoder = new TextDecoder();
  readonly #parser: EventSourceParser = createParser({
    onEvent: (event) => this.#event(event.data),
    // A hostile stream cannot grow memory without limit: past the bound the pending event is
    // dropped and parsing resumes with what follows.
    maxBufferSize: SseUsageObserver.MAX_LINE,
    onError: () => this.#parser.reset(),
  });
  /** Feeds the next bytes of the stream. */
  push(chunk: Buffer): void {
    this.#parser.feed(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The usage seen so far (dispatching a last event left without its blank line). */
  usage(): TokenUsage | undefined {
    this.#parser.feed(`${this.#decoder.decode()}\n\n`);
    return finalizeUsage(this.#usage);
  }

  /**
   * The usage of a stream cut before its end (the client left, a stop, an upstream failure): what
   * the provider reported, and where it had not reported a figure yet an estimate (`estimated`) —
   * one output token per content delta streamed (providers stream about one token per delta), and
   * the input at ~4 bytes of the request body per token. An OpenAI stream reports nothing before
   * its last chunk: without the estimate an agent could spend without its budget moving by leaving
   * every stream before the end.
   */
  cutUsage(requestBytes: number): TokenUsage | undefined {
    const reported = this.usage();
    if (this.#deltas === 0 && reported === undefined) return undefined;
    const usage: TokenUsage = { ...reported };
    let estimated = false;
    if (usage.inputTokens === undefined) {
      usage.inputTokens = Math.ceil(requestBytes / 4);
      estimated = true;
    }
    if ((usage.outputTokens ?? 0) < this.#deltas) {
      usage.outputTokens = this.#deltas;
      estimated = true;
    }
    if (estimated) {
      usage.totalTokens = usage.inputTokens + usage.outputTokens!;
      usage.estimated = true;
    }
    return usage;
  }

  /** Content deltas seen (OpenAI chunks, Anthropic `content_block_delta`, Responses `*.delta` events). */
  #deltas = 0;

  #event(data: string): void {
    if (data.includes('"delta"')) this.#deltas++;
    if (!data.includes('"usage"')) return;
    try {
      this.#usage = mergeUsage(this.#usage, usageFromObject(JSON.parse(data)));
    } catch {
      // Not JSON: not a usage event.
    }
  }
}

/**
 * Reads the token usage of a JSON answer too large to hold (past the proxy's buffer limit) as its
 * bytes go by: a streaming JSON parser keeps only the top-level `usage` and `model` values. A body
 * that is not JSON stops it (no usage).
 */
export class JsonUsageReader {
  readonly #found: Record<string, unknown> = {};
  #parser: JSONParser | undefined = new JSONParser({ paths: ['$.usage', '$.model'], keepStack: false });
  constructor() {
    this.#parser!.onValue = ({ value, key }) => {
      if (typeof key === 'string') this.#found[key] = value;
    };
  }
  /** Feeds the next bytes of the body. */
  push(chunk: Buffer): void {
    if (!this.#parser) return;
    try {
      this.#parser.write(chunk);
    } catch {
      this.#parser = undefined;
    }
  }
  /** The usage read, if the body held one. */
  usage(): TokenUsage | undefined {
    return finalizeUsage(usageFromObject(this.#found));
  }
}

function pick(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A model name as a provider reports it: a short printable string, else nothing. */
function modelName(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function sum(first: number | undefined, ...rest: Array<number | undefined>): number | undefined {
  if (first === undefined) return undefined;
  return rest.reduce<number>((acc, v) => acc + (v ?? 0), first);
}
