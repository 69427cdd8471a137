/**
 * What a proxied call still open when the shutdown grace runs out is told: a 503 in its caller's
 * dialect when nothing was answered yet, else a final event its SDK reads as an error.
 */
import { SHUTDOWN_EVENT } from '@argus/platform';
import { inDialect, type Dialect, type Problem } from './answers.ts';

/** The answer of a call aborted by a shutdown (its audit record says `aborted`). */
export const SHUTTING_DOWN: Problem = { code: 'unavailable', message: 'the proxy is shutting down: the call was aborted', errors: [] };

/**
 * The last event of a proxied event stream cut by a shutdown: an `error` object on a `data:` line
 * for OpenAI (its SDK throws on it), an `event: error` for Anthropic (likewise), and the platform's
 * `event: shutdown` for MCP and plain HTTP streams.
 */
export function finalStreamEvent(dialect: Dialect): string {
  if (dialect === 'openai') return `data: ${JSON.stringify(inDialect('openai', 503, SHUTTING_DOWN))}\n\n`;
  if (dialect === 'anthropic') return `event: error\ndata: ${JSON.stringify(inDialect('anthropic', 503, SHUTTING_DOWN))}\n\n`;
  return SHUTDOWN_EVENT;
}
