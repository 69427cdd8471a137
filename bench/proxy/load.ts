/**
 * The proxied LLM call every proxy benchmark sends: one chat completion body, with the bench
 * agent's token, 32 connections (autocannon), to a proxy target on loopback.
 */
import autocannon from 'autocannon';

/** The request body of a proxied call. */
export const BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Summarize the quarterly report in one sentence.' }],
});

/** Drives the proxy at `port` with 32 connections for `seconds`. */
export function loadProxy(port: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}/openai/v1/chat/completions`,
    method: 'POST',
    connections: 32,
    duration: seconds,
    headers: { authorization: 'Bearer argus_bench_token', 'content-type': 'application/json' },
    body: BODY,
  });
}
