import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { z } from 'zod';

/** Personal data the upstreams return (model `gpt-records`, MCP prompt `patient`): what obligations redact and cut. */
export const PATIENT = {
  patient: { name: 'Ann Example', ssn: '078-05-1120', dob: '1980-02-29', contact: { email: 'ann@example.com', phone: '555-0100' } },
  visits: [{ day: 1, ssn: '078-05-1120' }, { day: 2 }, { day: 3 }, { day: 4 }, { day: 5 }],
};

/** What an upstream saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback test server and everything it received. */
export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** A gate a streaming upstream waits on between its first and its remaining chunks. */
export interface Gate {
  /** Resolves once the first chunk was written. */
  firstSent: Promise<void>;
  open(): void;
}

/** Creates a gate; `wait` is what the upstream awaits. */
export function gate(): Gate & { wait: Promise<void>; markFirst(): void } {
  let open!: () => void;
  let markFirst!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  const firstSent = new Promise<void>((r) => (markFirst = r));
  return { wait, open, firstSent, markFirst };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sse(res: ServerResponse, data: unknown, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/**
 * An OpenAI-compatible upstream: `/v1/chat/completions` (JSON and SSE, usage in the final chunk
 * when asked), `/v1/embeddings`, `GET /v1/models`, a 302 at `/v1/redirect`. Model `echo-key`
 * answers 401 quoting the key it received, as the real API does. When `streamGate` is given,
 * a stream pauses after its first chunk until the gate opens.
 */
export async function openAiUpstream(
  options: { streamGate?: () => (Gate & { wait: Promise<void>; markFirst(): void }) | undefined } = {},
): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const auth = String(req.headers.authorization ?? '');
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-secret-hop, keep-alive',
        'x-secret-hop': 'must-not-pass',
        'keep-alive': 'timeout=99',
      });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-ok', object: 'model', created: 0, owned_by: 'test' }] }));
      return;
    }
    if (req.url === '/v1/redirect') {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
      return;
    }
    const doc = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    if (doc.model === 'echo-key') {
      res.writeHead(401, { 'content-type': 'application/json', 'x-echo-key': auth });
      res.end(
        JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}`,
            type: 'invalid_request_error',
            code: 'invalid_api_key',
          },
        }),
      );
      return;
    }
    if (req.url === '/v1/embeddings') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
          model: doc.model,
          usage: { prompt_tokens: 4, total_tokens: 4 },
        }),
      );
      return;
    }
    const id = `chatcmpl-${randomUUID()}`;
    if (doc.model === 'gpt-records' && doc.stream !== true) {
      // A tool call whose arguments (a JSON string, as the API sends them) carry personal data.
      res.writeHead(200, { 'content-type': 'application/json' });
      const call = { id: 'call_1', type: 'function', function: { name: 'file_patient', arguments: JSON.stringify(PATIENT) } };
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created: 1,
          model: doc.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: null, refusal: null, tool_calls: [call] },
              finish_reason: 'tool_calls',
              logprobs: null,
            },
          ],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      );
      return;
    }
    if (doc.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const base = { id, object: 'chat.completion.chunk', created: 1, model: doc.model };
      sse(res, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] });
      const g = options.streamGate?.();
      if (g) {
        g.markFirst();
        await g.wait;
      }
      sse(res, { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] });
      sse(res, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      const so = doc.stream_options as { include_usage?: boolean } | undefined;
      if (so?.include_usage) sse(res, { ...base, choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } });
      sse(res, '[DONE]');
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: 1,
        model: doc.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      }),
    );
  });
  const url = await listen(server);
  return { url, seen, close: () => closeServer(server) };
}

/** An Anthropic-compatible upstream: `POST /v1/messages`, JSON or SSE (`message_start` … `message_stop`). */
export async function anthropicUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const doc = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const id = `msg_${randomUUID().replace(/-/g, '')}`;
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model: doc.model,
      content: [] as unknown[],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 11, output_tokens: 1 },
    };
    if (doc.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      sse(res, { type: 'message_start', message }, 'message_start');
      sse(res, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
      sse(res, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Bon' } }, 'content_block_delta');
      sse(res, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'jour' } }, 'content_block_delta');
      sse(res, { type: 'content_block_stop', index: 0 }, 'content_block_stop');
      sse(
        res,
        { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } },
        'message_delta',
      );
      sse(res, { type: 'message_stop' }, 'message_stop');
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...message,
        content: [{ type: 'text', text: 'Bonjour' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 11, output_tokens: 3 },
      }),
    );
  });
  const url = await listen(server);
  return { url, seen, close: () => closeServer(server) };
}

/**
 * A real MCP server (the SDK's `McpServer` over streamable HTTP, stateful) at `/mcp` with tools
 * `echo`, `delete` and `count` (which streams progress notifications before its result).
 * Records every tool invocation in `invoked`. Answers in event streams, or in JSON with `json`;
 * `descriptions.echo` is what a new session lists as echo's description.
 */
export async function mcpUpstream(
  options: { json?: boolean } = {},
): Promise<TestUpstream & { invoked: string[]; descriptions: Record<string, string> }> {
  const seen: SeenRequest[] = [];
  const invoked: string[] = [];
  const transports = new Map<string, StreamableHTTPServerTransport>();
  /** Tool descriptions a new session lists (change one to play a rug pull). */
  const descriptions: Record<string, string> = { echo: 'echo the text' };

  function build(): McpServer {
    const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
    server.registerTool('echo', { description: descriptions.echo!, inputSchema: { text: z.string() } }, async ({ text }) => {
      invoked.push('echo');
      return { content: [{ type: 'text', text: `echo: ${text}` }] };
    });
    server.registerTool('delete', { description: 'delete everything', inputSchema: { target: z.string() } }, async () => {
      invoked.push('delete');
      return { content: [{ type: 'text', text: 'deleted' }] };
    });
    server.registerTool(
      'count',
      { description: 'count to n, reporting progress', inputSchema: { n: z.number().int().min(1).max(10) } },
      async ({ n }, extra) => {
        invoked.push('count');
        const token = extra._meta?.progressToken;
        for (let i = 1; i <= n; i++) {
          if (token !== undefined)
            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
          await new Promise((r) => setTimeout(r, 5));
        }
        return { content: [{ type: 'text', text: `counted to ${n}` }] };
      },
    );
    server.registerPrompt('patient', { description: 'a patient record to summarise' }, async () => ({
      messages: [{ role: 'user', content: { type: 'text', text: JSON.stringify(PATIENT) } }],
    }));
    server.registerResource('readme', 'file:///readme.md', { mimeType: 'text/markdown' }, async (uri) => ({
      contents: [{ uri: uri.href, text: '# readme' }],
    }));
    server.registerResource('secret-file', 'file:///secret.md', { mimeType: 'text/markdown' }, async (uri) => ({
      contents: [{ uri: uri.href, text: 'classified' }],
    }));
    return server;
  }

  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body: req.body ? JSON.stringify(req.body) : '' });
    next();
  });
  app.all('/mcp', async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (!transport) {
      if (req.method !== 'POST' || typeof sid === 'string') {
        res.status(404).json({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'unknown session' } });
        return;
      }
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void transports.set(id, t),
        enableJsonResponse: options.json === true,
      });
      await build().connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, req.body);
  });
  const server = createServer(app);
  const url = await listen(server);
  return {
    url,
    seen,
    invoked,
    descriptions,
    close: async () => {
      for (const t of transports.values()) await t.close();
      await closeServer(server);
    },
  };
}

/**
 * An MCP endpoint at `/mcp` that answers every POST with `answer` (content type and body as given):
 * to show what the proxy does with list answers it cannot read.
 */
export async function rawMcpUpstream(answer: {
  type: string;
  body: string;
}): Promise<TestUpstream & { answer: { type: string; body: string } }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      seen.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
      res.writeHead(200, { 'content-type': state.answer.type });
      res.end(state.answer.body);
    });
  });
  const url = await listen(server);
  const state = { url, seen, answer, close: () => closeServer(server) };
  return state;
}
