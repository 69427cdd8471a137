/**
 * Loopback servers for tests and the benchmark: real MCP servers (`@modelcontextprotocol/sdk`,
 * streamable HTTP in SSE and JSON answer modes, and the legacy SSE transport), an OpenAI-compatible
 * stub, an A2A agent card and a plain HTTP server that must be ignored. All listen on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A running loopback server. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** A tool the test MCP servers offer; `description` may be changed while the server runs. */
export interface TestTool {
  name: string;
  description: string;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Finds `count` consecutive free loopback ports below the kernel's ephemeral range (20000-30000), so a
 * test can scan exactly its own block without touching other processes' ephemeral ports. The ports
 * are free when returned; the caller binds its servers to them right away.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * (10000 - count));
    const held: ReturnType<typeof createNetServer>[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      const s = createNetServer();
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(p, '127.0.0.1', () => resolve(true));
      });
      if (ok) held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (ok) return base;
  }
  throw new Error('no free port block');
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
}

function buildMcp(name: string, tools: readonly TestTool[]): McpServer {
  const server = new McpServer({ name, version: '1.2.3' });
  for (const tool of tools) {
    server.registerTool(tool.name, { description: tool.description, inputSchema: { query: z.string() } }, ({ query }) => ({
      content: [{ type: 'text', text: `${tool.name}:${query}` }],
    }));
  }
  return server;
}

/**
 * A streamable-HTTP MCP server at `/mcp`. `mode: 'sse'` is stateful (sessions, SSE answers);
 * `mode: 'json'` is stateless with JSON answers. `tools` is read on every new session, so changing
 * a description takes effect at the next scan.
 */
export async function startMcpServer(options: {
  name: string;
  tools: TestTool[];
  mode: 'sse' | 'json';
  port?: number;
}): Promise<RunningServer & { received: () => string[] }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const received: string[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/mcp')) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = req.method === 'POST' ? await readJsonBody(req) : undefined;
      const rpc = body as { method?: unknown } | undefined;
      received.push(`${req.method} ${typeof rpc?.method === 'string' ? rpc.method : '-'}${req.headers.authorization ? ' +auth' : ''}`);
      if (options.mode === 'json') {
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
        const mcp = buildMcp(options.name, options.tools);
        res.on('close', () => {
          void transport.close();
          void mcp.close();
        });
        await mcp.connect(transport);
        await transport.handleRequest(req, res, body);
        return;
      }
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        if (typeof sid === 'string') {
          res.writeHead(404).end();
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId) sessions.delete(created.sessionId);
        };
        await buildMcp(options.name, options.tools).connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    } catch {
      if (!res.headersSent) res.writeHead(400).end();
    }
  };
  const server = createServer((req, res) => void handler(req, res));
  const port = await listen(server, options.port);
  const close = closer(server);
  return {
    port,
    received: () => [...received],
    async close() {
      for (const t of sessions.values()) await t.close().catch(() => undefined);
      await close();
    },
  };
}

/** A legacy HTTP+SSE MCP server: GET `/sse`, POST `/messages?sessionId=`. */
export async function startLegacySseMcpServer(options: { name: string; tools: TestTool[]; port?: number }): Promise<RunningServer> {
  const transports = new Map<string, SSEServerTransport>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/sse') {
        const transport = new SSEServerTransport('/messages', res);
        transports.set(transport.sessionId, transport);
        res.on('close', () => transports.delete(transport.sessionId));
        await buildMcp(options.name, options.tools).connect(transport);
        return;
      }
      if (req.method === 'POST' && url.pathname === '/messages') {
        const transport = transports.get(url.searchParams.get('sessionId') ?? '');
        if (!transport) {
          res.writeHead(404).end();
          return;
        }
        await transport.handlePostMessage(req, res);
        return;
      }
      res.writeHead(404).end();
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const port = await listen(server, options.port);
  return { port, close: closer(server) };
}

/** An OpenAI-compatible stub: `GET /v1/models`. Counts every request it gets. */
export async function startOpenAiStub(models: string[] = ['gpt-test', 'embed-test'], port?: number): Promise<RunningServer & { requests: () => string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
  });
  const bound = await listen(server, port);
  return { port: bound, close: closer(server), requests: () => [...seen] };
}

/** An A2A agent serving its card at `/.well-known/agent-card.json`. */
export async function startA2aAgent(name: string, port?: number): Promise<RunningServer> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          name,
          description: 'answers questions about orders',
          url: 'http://127.0.0.1/a2a',
          version: '0.3.0',
          protocolVersion: '0.3.0',
          capabilities: { streaming: false },
          skills: [{ id: 'order-status', name: 'Order status' }],
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  const bound = await listen(server, port);
  return { port: bound, close: closer(server) };
}

/** A plain HTTP server answering 200 text/html to everything (including POST): not an agent. */
export async function startPlainHttp(port?: number): Promise<RunningServer & { requests: () => string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hello</body></html>');
  });
  const bound = await listen(server, port);
  return { port: bound, close: closer(server), requests: () => [...seen] };
}

/** A TCP server that accepts connections and never answers: a probe can only time out on it. */
export async function startSilentTcp(port?: number): Promise<RunningServer> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
