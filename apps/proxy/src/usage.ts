/** Token counts read from an LLM response. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
}

/**
 * Reads token usage from a decoded OpenAI or Anthropic JSON body or stream event. Looks at
 * `usage`, `message.usage` (Anthropic `message_start`) and `response.usage` (OpenAI Responses
 * `response.completed`). OpenAI names (`prompt_tokens`, `completion_tokens`) and Anthropic /
 * Responses names (`input_tokens`, `output_tokens`, cache tokens counted as input) are both read.
 */
export function usageFromObject(body: unknown): TokenUsage | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const raw = pick(b.usage) ?? pick((b.message as Record<string, unknown> | undefined)?.usage) ?? pick((b.response as Record<string, unknown> | undefined)?.usage);
  if (!raw) return undefined;
  const input = sum(int(raw.prompt_tokens) ?? int(raw.input_tokens), int(raw.cache_creation_input_tokens), int(raw.cache_read_input_tokens));
  const output = int(raw.completion_tokens) ?? int(raw.output_tokens);
  const total = int(raw.total_tokens);
  const usage: TokenUsage = {};
  if (input !== undefined) usage.inputTokens = input;
  if (output !== undefined) usage.outputTokens = output;
  if (total !== undefined) usage.totalTokens = total;
  return Object.keys(usage).length > 0 ? usage : undefined;
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
  #partial = '';
  #data: string[] = [];
  #usage: TokenUsage | undefined;
  /** Bound on a single pending line, so a hostile stream cannot grow memory without limit. */
  static readonly MAX_LINE = 1 << 20;

  /** Feeds the next bytes of the stream. */
  push(chunk: Buffer): void {
    const text = this.#partial + chunk.toString('utf8');
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#line(text.slice(start, nl).replace(/\r$/, ''));
      start = nl + 1;
    }
    this.#partial = text.slice(start);
    if (this.#partial.length > SseUsageObserver.MAX_LINE) this.#partial = '';
  }

  /** The usage seen so far (dispatching a last event left without its blank line). */
  usage(): TokenUsage | undefined {
    if (this.#partial) {
      this.#line(this.#partial.replace(/\r$/, ''));
      this.#partial = '';
    }
    this.#line('');
    return finalizeUsage(this.#usage);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) {
        const data = this.#data.join('\n');
        this.#data = [];
        if (data.includes('"usage"')) {
          try {
            this.#usage = mergeUsage(this.#usage, usageFromObject(JSON.parse(data)));
          } catch {
            // Not JSON: not a usage event.
          }
        }
      }
      return;
    }
    if (line.startsWith('data:')) this.#data.push(line.slice(line[5] === ' ' ? 6 : 5));
  }
}

function pick(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function sum(first: number | undefined, ...rest: Array<number | undefined>): number | undefined {
  if (first === undefined) return undefined;
  return rest.reduce<number>((acc, v) => acc + (v ?? 0), first);
}
