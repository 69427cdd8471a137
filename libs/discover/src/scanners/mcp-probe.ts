/**
 * MCP probes. Only the read-only part of the protocol is used: `initialize`,
 * `notifications/initialized`, `tools/list` (paginated, bounded), then the session is closed.
 * Nothing that changes server state (no `tools/call`) is ever sent.
 */
import { createHash } from 'node:crypto';
import { isRecord, parseJson, PROBE_USER_AGENT, readBounded } from './http.ts';
import { readSse } from './sse.ts';
import type { DiscoveredTool } from '../types.ts';

/** The protocol version the probe offers; servers answer with the one they speak. */
export const MCP_PROTOCOL_VERSION = '2025-06-18';

/** At most this many `tools/list` pages and tools are read from one server. */
export const MAX_TOOL_PAGES = 20;
/** See {@link MAX_TOOL_PAGES}. */
export const MAX_TOOLS = 2000;

const MAX_SSE_BYTES = 4 * 1024 * 1024;

/** What an MCP server said about itself. */
export interface McpProbeResult {
  transport: 'streamable-http' | 'sse';
  /** The URL the handshake succeeded on. */
  url: string;
  serverName: string;
  serverVersion?: string;
  protocolVersion: string;
  tools: DiscoveredTool[];
}

/** Hex SHA-256 of a tool description. */
export function descriptionHash(description: string): string {
  return createHash('sha256').update(description, 'utf8').digest('hex');
}

function initializeRequest(id: number) {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'argus-discover', version: '0.1.0' } },
  };
}

interface InitializeResult {
  protocolVersion: string;
  serverName: string;
  serverVersion?: string;
  hasTools: boolean;
}

/** Validates a JSON-RPC `initialize` response; undefined when it is not one. */
function asInitializeResult(message: unknown, id: number): InitializeResult | undefined {
  if (!isRecord(message) || message.jsonrpc !== '2.0' || message.id !== id || !isRecord(message.result)) return undefined;
  const r = message.result;
  if (typeof r.protocolVersion !== 'string' || !isRecord(r.capabilities)) return undefined;
  const info = isRecord(r.serverInfo) ? r.serverInfo : {};
  return {
    protocolVersion: r.protocolVersion,
    serverName: typeof info.name === 'string' && info.name.length > 0 ? info.name.slice(0, 200) : 'mcp-server',
    ...(typeof info.version === 'string' ? { serverVersion: info.version.slice(0, 64) } : {}),
    hasTools: isRecord(r.capabilities.tools),
  };
}

/** Extracts tools and the next cursor from a `tools/list` response. */
function asToolsPage(message: unknown, id: number): { tools: DiscoveredTool[]; nextCursor?: string } | undefined {
  if (!isRecord(message) || message.id !== id || !isRecord(message.result) || !Array.isArray(message.result.tools)) return undefined;
  const tools: DiscoveredTool[] = [];
  for (const t of message.result.tools) {
    if (!isRecord(t) || typeof t.name !== 'string' || t.name.length === 0) continue;
    const description = typeof t.description === 'string' ? t.description : '';
    tools.push({
      name: t.name,
      description,
      inputSchema: isRecord(t.inputSchema) ? t.inputSchema : { type: 'object' },
      descriptionHash: descriptionHash(description),
    });
  }
  const next = message.result.nextCursor;
  return { tools, ...(typeof next === 'string' && next.length > 0 ? { nextCursor: next } : {}) };
}

/**
 * Pages through `tools/list` (bounded in pages and tools). `call` sends one request and answers
 * the JSON-RPC message with its id, or undefined when the transport gave up.
 */
async function listTools(call: (request: unknown, id: number) => Promise<unknown>): Promise<DiscoveredTool[]> {
  const tools: DiscoveredTool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_TOOL_PAGES && tools.length < MAX_TOOLS; page++) {
    const id = 2 + page;
    const list = asToolsPage(
      await call({ jsonrpc: '2.0', id, method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, id),
      id,
    );
    if (!list) break;
    tools.push(...list.tools.slice(0, MAX_TOOLS - tools.length));
    cursor = list.nextCursor;
    if (cursor === undefined) break;
  }
  return tools;
}

function probeResult(
  transport: McpProbeResult['transport'],
  url: string,
  init: NonNullable<ReturnType<typeof asInitializeResult>>,
  tools: DiscoveredTool[],
): McpProbeResult {
  return {
    transport,
    url,
    serverName: init.serverName,
    ...(init.serverVersion !== undefined ? { serverVersion: init.serverVersion } : {}),
    protocolVersion: init.protocolVersion,
    tools,
  };
}

/** Reads the JSON-RPC message answering `id` from a streamable-HTTP response (JSON or SSE). */
async function readRpcAnswer(res: Response, id: number): Promise<unknown> {
  const type = res.headers.get('content-type') ?? '';
  if (/^application\/json\b/i.test(type)) {
    const body = parseJson(await readBounded(res));
    const messages = Array.isArray(body) ? body : [body];
    return messages.find((m) => isRecord(m) && m.id === id);
  }
  if (/^text\/event-stream\b/i.test(type) && res.body) {
    for await (const ev of readSse(res.body, MAX_SSE_BYTES)) {
      if (ev.event !== 'message') continue;
      const m = parseJson(ev.data);
      if (isRecord(m) && m.id === id) {
        await res.body.cancel().catch(() => undefined);
        return m;
      }
    }
    return undefined;
  }
  await res.body?.cancel().catch(() => undefined);
  return undefined;
}

/**
 * Tries the streamable HTTP transport at `url`: POST `initialize` (JSON or SSE answer, keeping the
 * `Mcp-Session-Id`), `notifications/initialized`, `tools/list`, then DELETE the session.
 * Returns undefined when the endpoint does not speak MCP.
 */
export async function probeStreamableHttp(url: string, signal: AbortSignal): Promise<McpProbeResult | undefined> {
  const baseHeaders: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'user-agent': PROBE_USER_AGENT,
  };
  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { ...baseHeaders, ...headers }, body: JSON.stringify(body), redirect: 'manual', signal });

  const initRes = await post(initializeRequest(1), {});
  if (initRes.status !== 200) {
    await initRes.body?.cancel().catch(() => undefined);
    return undefined;
  }
  const sessionId = initRes.headers.get('mcp-session-id') ?? undefined;
  const init = asInitializeResult(await readRpcAnswer(initRes, 1), 1);
  if (!init) return undefined;

  const headers: Record<string, string> = { 'mcp-protocol-version': init.protocolVersion };
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  try {
    const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    await ack.body?.cancel().catch(() => undefined);

    const tools = init.hasTools
      ? await listTools(async (request, id) => {
          const res = await post(request, headers);
          if (res.status !== 200) {
            await res.body?.cancel().catch(() => undefined);
            return undefined;
          }
          return readRpcAnswer(res, id);
        })
      : [];
    return probeResult('streamable-http', url, init, tools);
  } finally {
    if (sessionId !== undefined) {
      // Closing our own session frees the server's resources; it touches nothing else.
      await fetch(url, { method: 'DELETE', headers: { ...headers, 'user-agent': PROBE_USER_AGENT }, redirect: 'manual', signal })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
  }
}

/**
 * Tries the legacy HTTP+SSE transport: GET `url`, wait for the `endpoint` event (same origin only),
 * then POST the handshake there and read the answers from the event stream.
 */
export async function probeLegacySse(url: string, signal: AbortSignal): Promise<McpProbeResult | undefined> {
  const local = new AbortController();
  const both = AbortSignal.any([signal, local.signal]);
  try {
    const res = await fetch(url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'user-agent': PROBE_USER_AGENT },
      redirect: 'manual',
      signal: both,
    });
    if (res.status !== 200 || !/^text\/event-stream\b/i.test(res.headers.get('content-type') ?? '') || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const events = readSse(res.body, MAX_SSE_BYTES);
    const first = await events.next();
    if (first.done || first.value.event !== 'endpoint') return undefined;
    let endpoint: URL;
    try {
      endpoint = new URL(first.value.data.trim(), url);
    } catch {
      return undefined;
    }
    // INVARIANT: the probe never POSTs to a host other than the one it was asked to probe.
    if (endpoint.origin !== new URL(url).origin) return undefined;

    const post = async (body: unknown) => {
      const r = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': PROBE_USER_AGENT },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: both,
      });
      await r.body?.cancel().catch(() => undefined);
      return r.status >= 200 && r.status < 300;
    };
    const answer = async (id: number): Promise<unknown> => {
      for (;;) {
        const next = await events.next();
        if (next.done) return undefined;
        if (next.value.event !== 'message') continue;
        const m = parseJson(next.value.data);
        if (isRecord(m) && m.id === id) return m;
      }
    };

    if (!(await post(initializeRequest(1)))) return undefined;
    const init = asInitializeResult(await answer(1), 1);
    if (!init) return undefined;
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const tools = init.hasTools ? await listTools(async (request, id) => ((await post(request)) ? answer(id) : undefined)) : [];
    return probeResult('sse', url, init, tools);
  } finally {
    local.abort();
  }
}
