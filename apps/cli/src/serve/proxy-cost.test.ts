/**
 * Cost charged to goal budgets in USD (issue 16 item 5), through `argus serve` as a user runs it:
 * the official `openai` and `@anthropic-ai/sdk` clients call models through the proxy, the proxy
 * prices each answer's token usage with the shipped price table, the goal's budget is charged, and
 * once `maxCostUsd` is spent the next call is denied by the starter policies' governance.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningArgus } from '../commands/serve.ts';
import { startServeWithProxy, type ServeFixture } from '../testing/serve-fixture.ts';

const BOT_TOKEN = 'argus_cost_bot_5c4b3a29';

/** An upstream that answers every chat / messages call with fixed, cache-aware usage. */
/** What the upstream saw of its slow model's calls: how many ended before their answer. */
const slow = { calls: 0, endedEarly: 0 };

async function modelUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const doc = JSON.parse(body || '{}') as {
        model?: string;
        stream?: boolean;
        stream_options?: { include_usage?: boolean };
        max_tokens?: number;
      };
      if (req.url === '/v1/chat/completions' && doc.stream && doc.model === 'gpt-4.1-nano') {
        // A stream that sends three deltas and stalls: its usage (asked for) would only come last.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = { id: 'chatcmpl-5', object: 'chat.completion.chunk', created: 1, model: doc.model };
        for (const word of ['one', ' two', ' three'])
          res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] })}\n\n`);
        return;
      }
      if (req.url === '/v1/chat/completions' && doc.stream) {
        // A streamed answer: as OpenAI's, its usage comes in a last chunk only when asked for
        // (`stream_options.include_usage`).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: doc.model };
        res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: null }] })}\n\n`);
        if (doc.stream_options?.include_usage === true) {
          res.write(
            `data: ${JSON.stringify({ ...chunk, choices: [], usage: { prompt_tokens: 2000, completion_tokens: 100, total_tokens: 2100 } })}\n\n`,
          );
        }
        res.end('data: [DONE]\n\n');
        return;
      }
      if (req.url === '/v1/messages' && doc.stream) {
        // An Anthropic stream that reports its input at once, then stalls after one delta (its
        // client leaves before the end).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const message = {
          id: 'msg_2',
          type: 'message',
          role: 'assistant',
          model: doc.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
        };
        res.write(
          `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { ...message, usage: { input_tokens: 400, output_tokens: 1 } } })}\n\n`,
        );
        res.write(
          `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
        );
        res.write(
          `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } })}\n\n`,
        );
        return;
      }
      res.setHeader('content-type', 'application/json');
      if (doc.model === 'slow-model') {
        // Answers after 1.5 s, unless the call is ended before.
        slow.calls++;
        const timer = setTimeout(
          () =>
            res.end(
              JSON.stringify({
                id: 'chatcmpl-4',
                object: 'chat.completion',
                created: 1,
                model: doc.model,
                choices: [],
                usage: { prompt_tokens: 10, completion_tokens: 10 },
              }),
            ),
          1_500,
        );
        res.on('close', () => {
          if (res.writableEnded) return;
          clearTimeout(timer);
          slow.endedEarly++;
        });
        return;
      }
      if (req.url === '/v1/chat/completions' && doc.model === 'gpt-4o-mini') {
        // An answer larger than the proxy buffers (1 MiB): its usage, at the end, is read in passing.
        const long = 'x'.repeat(1_500_000);
        res.end(
          JSON.stringify({
            id: 'chatcmpl-3',
            object: 'chat.completion',
            created: 1,
            model: 'gpt-4o-mini-2024-07-18',
            choices: [{ index: 0, message: { role: 'assistant', content: long, refusal: null }, finish_reason: 'stop', logprobs: null }],
            usage: { prompt_tokens: 1000, completion_tokens: 3000, total_tokens: 4000 },
          }),
        );
        return;
      }
      if (req.url === '/v1/chat/completions') {
        // 1000 prompt tokens of which 200 cached, 500 completion tokens; the provider names its snapshot.
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: `${doc.model}-2024-08-06`,
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, finish_reason: 'stop', logprobs: null }],
            usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 200 } },
          }),
        );
      } else if (req.url === '/v1/messages') {
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: doc.model,
            content: [{ type: 'text', text: 'ok' }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 100, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 50 },
          }),
        );
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('cost charged to goal budgets through argus serve', () => {
  let upstream: { url: string; server: Server };
  let argus: ServeFixture;
  let running: RunningArgus;
  let admin: string;

  beforeAll(async () => {
    upstream = await modelUpstream();
    argus = await startServeWithProxy('cost', BOT_TOKEN, {
      prices: { models: { 'house-model': { inputUsdPerMTok: 1, outputUsdPerMTok: 1 } } },
      upstreams: [
        { name: 'openai', kind: 'openai', prefix: '/openai', target: upstream.url },
        { name: 'anthropic', kind: 'anthropic', prefix: '/anthropic', target: upstream.url },
      ],
    });
    ({ running, token: admin } = argus);
    const lease = await fetch(`${running.url}/v1/registry/agents/bot/lease`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttlMs: 600_000 }),
    });
    expect(lease.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await argus?.close();
    upstream?.server.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.server.close(() => r()) : r()));
  });

  /** The official clients as the bot, through the proxy, under goal `goal`. */
  const headersFor = (goal: string) => ({ 'x-argus-goal': goal, 'x-argus-intent': 'answer-customer' });
  const openAiFor = (goal: string) =>
    new OpenAI({ apiKey: BOT_TOKEN, baseURL: `${running.proxyUrl}/openai/v1`, maxRetries: 0, defaultHeaders: headersFor(goal) });
  const anthropicFor = (goal: string) =>
    new Anthropic({ apiKey: BOT_TOKEN, baseURL: `${running.proxyUrl}/anthropic`, maxRetries: 0, defaultHeaders: headersFor(goal) });

  async function createGoal(id: string, maxCostUsd: number): Promise<void> {
    const res = await fetch(`${running.url}/v1/goals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        onBehalfOf: 'alice',
        objective: 'answer a customer',
        intents: ['answer-customer'],
        agents: ['bot'],
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        budget: { maxCostUsd },
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  async function used(id: string): Promise<{ costUsd: number; tokens: number }> {
    const res = await fetch(`${running.url}/v1/goals/${id}`, { headers: { authorization: `Bearer ${admin}` } });
    return ((await res.json()) as { usage: { used: { costUsd: number; tokens: number } } }).usage.used;
  }

  async function eventuallyUsed(id: string, costUsd: number): Promise<void> {
    const start = Date.now();
    while ((await used(id)).costUsd !== costUsd) {
      if (Date.now() - start > 5000) expect((await used(id)).costUsd).toBe(costUsd);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('charges an OpenAI call its USD cost (cached input at its own price) and denies once maxCostUsd is spent', async () => {
    await createGoal('goal-openai', 0.01);
    const client = openAiFor('goal-openai');
    const ask = () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    // gpt-4o-2024-08-06 → gpt-4o: 800 × $2.50 + 200 × $1.25 + 500 × $10 per 1M = $0.00725.
    await ask();
    await eventuallyUsed('goal-openai', 0.00725);
    expect((await used('goal-openai')).tokens).toBe(1500);
    await ask();
    await eventuallyUsed('goal-openai', 0.0145);
    const denied = await ask().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((denied as Error).message).toMatch(/budget/i);
    expect((await used('goal-openai')).costUsd).toBe(0.0145);
  }, 30_000);

  it('ends the upstream call of a client that leaves before its answer (a half-close too), and charges nothing', async () => {
    await createGoal('goal-left-early', 1);
    const { hostname, port } = new URL(running.proxyUrl!);
    const body = JSON.stringify({ model: 'slow-model', messages: [{ role: 'user', content: 'hi' }] });
    const before = { ...slow };
    for (const leave of ['end', 'destroy'] as const) {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      socket.write(
        [
          'POST /openai/v1/chat/completions HTTP/1.1',
          'Host: argus',
          'Content-Type: application/json',
          `Authorization: Bearer ${BOT_TOKEN}`,
          'x-argus-goal: goal-left-early',
          'x-argus-intent: answer-customer',
          `Content-Length: ${Buffer.byteLength(body)}`,
          '',
          body,
        ].join('\r\n'),
      );
      await new Promise((r) => setTimeout(r, 300));
      socket[leave]();
    }
    // The upstream sees both calls end long before their answers (1.5 s) would have come.
    const start = Date.now();
    while (slow.endedEarly - before.endedEarly < 2 && Date.now() - start < 1_000) await new Promise((r) => setTimeout(r, 20));
    expect(slow.calls - before.calls).toBe(2);
    expect(slow.endedEarly - before.endedEarly).toBe(2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await used('goal-left-early')).toMatchObject({ tokens: 0, costUsd: 0 });
  }, 30_000);

  it('charges a streamed OpenAI answer from the usage in its last chunk', async () => {
    await createGoal('goal-stream', 1);
    const client = openAiFor('goal-stream');
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    for await (const chunk of stream) void chunk;
    // gpt-4.1-mini: 2000 × $0.40 + 100 × $1.60 per 1M = $0.00096.
    await eventuallyUsed('goal-stream', 0.00096);
  }, 30_000);

  it('charges a stream whose client did not ask for usage, and hands the client the stream it asked for', async () => {
    await createGoal('goal-stream-plain', 1);
    const client = openAiFor('goal-stream-plain');
    // The SDK's default: no `stream_options`. The proxy asks the provider for the usage chunk.
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1-mini',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices.length)).toEqual([1]);
    expect(chunks.some((c) => c.usage)).toBe(false);
    await eventuallyUsed('goal-stream-plain', 0.00096);
  }, 30_000);

  it('charges a JSON answer larger than the proxy buffers', async () => {
    await createGoal('goal-large', 1);
    const client = openAiFor('goal-large');
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toHaveLength(1_500_000);
    // gpt-4o-mini: 1000 × $0.15 + 3000 × $0.60 per 1M = $0.00195.
    await eventuallyUsed('goal-large', 0.00195);
    expect((await used('goal-large')).tokens).toBe(4000);
  }, 30_000);

  it('charges an OpenAI stream its client left before the usage chunk with an estimate, recorded as one', async () => {
    await createGoal('goal-left-openai', 1);
    const stream = await openAiFor('goal-left-openai').chat.completions.create({
      model: 'gpt-4.1-nano',
      stream: true,
      messages: [{ role: 'user', content: 'count to three' }],
    });
    let deltas = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content && ++deltas === 3) break;
    // Three output tokens (one a delta) and the input at ~4 bytes of the forwarded body a token.
    const start = Date.now();
    while ((await used('goal-left-openai')).tokens === 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 20));
    const { tokens } = await used('goal-left-openai');
    expect(tokens).toBeGreaterThan(3);
    expect(tokens).toBeLessThan(60);
    const res = await fetch(`${running.url}/v1/decisions?goal=goal-left-openai&limit=5`, { headers: { authorization: `Bearer ${admin}` } });
    const [record] = ((await res.json()) as { decisions: Array<{ proxy?: { error?: string; usage?: Record<string, unknown> } }> })
      .decisions;
    expect(record?.proxy).toMatchObject({ error: 'client_closed', usage: { estimated: true, outputTokens: 3, totalTokens: tokens } });
  }, 30_000);

  it('charges a stream its client left early with the usage the provider had reported', async () => {
    await createGoal('goal-left', 1);
    const client = anthropicFor('goal-left');
    const stream = await client.messages.create({
      model: 'claude-haiku-4-5-20251001',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    for await (const event of stream) if (event.type === 'content_block_delta') break;
    // claude-haiku-4-5: 400 input tokens × $1 + 1 output × $5 per 1M = $0.000405.
    await eventuallyUsed('goal-left', 0.000405);
  }, 30_000);

  /** Starts a stalled Anthropic stream under `goal` and reads it up to its first delta. */
  async function runningStream(goal: string) {
    const stream = await anthropicFor(goal).messages.create({
      model: 'claude-haiku-4-5-20251001',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const events = stream[Symbol.asyncIterator]();
    while ((await events.next()).value?.type !== 'content_block_delta');
    return events;
  }

  /** How `events` ends: the upstream holds the stream open, so only a cut ends it, with an error the SDK throws. */
  async function endOf(events: AsyncIterator<unknown>): Promise<unknown> {
    return events.next().then(
      () => 'no error',
      (err: unknown) => err,
    );
  }

  /** Waits until a call under `goal` is recorded with `proxy.error: "stopped"`. */
  async function recordedStopped(goal: string): Promise<boolean> {
    const stopped = async () => {
      const res = await fetch(`${running.url}/v1/decisions?goal=${goal}&limit=50`, { headers: { authorization: `Bearer ${admin}` } });
      return ((await res.json()) as { decisions: Array<{ proxy?: { error?: string } }> }).decisions.some(
        (r) => r.proxy?.error === 'stopped',
      );
    };
    const start = Date.now();
    while (!(await stopped()) && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 50));
    return stopped();
  }

  const asAdmin = (method: string, path: string, body?: unknown) =>
    fetch(`${running.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('cuts a stream already running when a switch stops its agent, and records it stopped', async () => {
    await createGoal('goal-stopped', 1);
    const events = await runningStream('goal-stopped');
    expect((await asAdmin('PUT', '/v1/switches/agent/bot', { reason: 'runaway stream' })).status).toBe(200);
    try {
      const ended = await endOf(events);
      expect(ended).toBeInstanceOf(Anthropic.APIError);
      expect((ended as Error).message).toContain('runaway stream');
      expect(await recordedStopped('goal-stopped')).toBe(true);
    } finally {
      await asAdmin('DELETE', '/v1/switches/agent/bot');
    }
  }, 30_000);

  it('cuts a stream already running when its agent is quarantined', async () => {
    await createGoal('goal-quarantined', 1);
    const events = await runningStream('goal-quarantined');
    expect((await asAdmin('POST', '/v1/registry/agents/bot/trust', { to: 'quarantined', reason: 'odd traffic' })).status).toBe(200);
    try {
      const ended = await endOf(events);
      expect(ended).toBeInstanceOf(Anthropic.APIError);
      expect((ended as Error).message).toContain('agent `bot` is quarantined');
      expect(await recordedStopped('goal-quarantined')).toBe(true);
    } finally {
      await asAdmin('POST', '/v1/registry/agents/bot/trust', { to: 'pending', reason: 'checked' });
      await asAdmin('POST', '/v1/registry/agents/bot/trust', { to: 'trusted', reason: 'checked' });
    }
  }, 30_000);

  it('charges an Anthropic call with cache reads and writes at their prices', async () => {
    await createGoal('goal-anthropic', 1);
    const client = anthropicFor('goal-anthropic');
    await client.messages.create({ model: 'claude-haiku-4-5-20251001', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    // claude-haiku-4-5: 100 × $1 + 1000 × $0.10 (read) + 200 × $1.25 (write) + 50 × $5 per 1M = $0.0007.
    await eventuallyUsed('goal-anthropic', 0.0007);
  }, 30_000);

  it('prices a model from the configuration, and charges no cost for a model without a price', async () => {
    await createGoal('goal-priced', 1);
    const client = openAiFor('goal-priced');
    // The answer names `house-model-2024-08-06`: the configured `house-model` prices it at $1 / $1.
    await client.chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'hi' }] });
    await eventuallyUsed('goal-priced', 0.0015);
    await createGoal('goal-unpriced', 1);
    const other = openAiFor('goal-unpriced');
    await other.chat.completions.create({ model: 'mystery-model', messages: [{ role: 'user', content: 'hi' }] });
    const start = Date.now();
    while ((await used('goal-unpriced')).tokens === 0 && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(await used('goal-unpriced')).toMatchObject({ tokens: 1500, costUsd: 0 });
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/argus_proxy_unpriced_calls_total\{upstream="openai"\} 1/);
  }, 30_000);
});
