import type { AuthorizeResponse } from '@argus/contracts';
import type { CallDescription } from './route-mapping.ts';

/** A JSON-RPC 2.0 message as MCP sends it over streamable HTTP. */
export interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** A JSON-RPC error response. */
export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string; data?: unknown };
}

/** JSON-RPC error codes the proxy answers with. */
export const JSON_RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  /** Server-defined: the call was denied by policy. */
  forbidden: -32001,
  /** Server-defined: no decision could be made (fail closed). */
  unavailable: -32003,
} as const;

/** A parsed POST body: one message or a batch. */
export type McpBody = { ok: true; batch: boolean; messages: JsonRpcMessage[] } | { ok: false; error: JsonRpcErrorResponse };

/** Parses and shape-checks an MCP POST body. */
export function parseMcpBody(body: Buffer | undefined, maxBatch: number): McpBody {
  let doc: unknown;
  try {
    doc = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch {
    return { ok: false, error: rpcError(null, JSON_RPC.parseError, 'parse error') };
  }
  const batch = Array.isArray(doc);
  const items: unknown[] = batch ? (doc as unknown[]) : [doc];
  if (items.length === 0 || items.length > maxBatch) {
    return { ok: false, error: rpcError(null, JSON_RPC.invalidRequest, items.length === 0 ? 'empty batch' : `batch larger than ${maxBatch}`) };
  }
  for (const m of items) {
    if (!m || typeof m !== 'object' || Array.isArray(m) || (m as JsonRpcMessage).jsonrpc !== '2.0') {
      return { ok: false, error: rpcError(idOf(m), JSON_RPC.invalidRequest, 'not a JSON-RPC 2.0 message') };
    }
    const { method, id } = m as JsonRpcMessage;
    if (method !== undefined && typeof method !== 'string') return { ok: false, error: rpcError(idOf(m), JSON_RPC.invalidRequest, '`method` must be a string') };
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') return { ok: false, error: rpcError(null, JSON_RPC.invalidRequest, '`id` must be a string or a number') };
  }
  return { ok: true, batch, messages: items as JsonRpcMessage[] };
}

/**
 * The Cedar view of one MCP message on server `server`, `undefined` when it needs no decision
 * (listing, pings, notifications, responses to the server), or an error when its params are
 * malformed. `initialize` decides `mcp:connect` on `McpServer::"<server>"`.
 */
export function describeMcpMessage(server: string, m: JsonRpcMessage): CallDescription | { invalid: string } | undefined {
  if (m.method === undefined || m.id === undefined) return undefined;
  const params = (m.params && typeof m.params === 'object' ? m.params : {}) as Record<string, unknown>;
  const base = { server, mcpMethod: m.method };
  switch (m.method) {
    case 'initialize':
      return { action: 'mcp:connect', resource: { type: 'McpServer', id: server }, context: base };
    case 'tools/call': {
      const name = params.name;
      if (typeof name !== 'string' || name.length === 0 || name.length > 256) return { invalid: '`params.name` must name a tool' };
      const args = params.arguments && typeof params.arguments === 'object' && !Array.isArray(params.arguments) ? Object.keys(params.arguments).slice(0, 64) : [];
      return { action: 'tool:call', resource: { type: 'Tool', id: `${server}/${name}` }, context: { ...base, tool: name, argumentNames: args } };
    }
    case 'resources/read': {
      const uri = params.uri;
      if (typeof uri !== 'string' || uri.length === 0 || uri.length > 2048) return { invalid: '`params.uri` must name a resource' };
      return { action: 'resource:read', resource: { type: 'Resource', id: `${server}/${uri}` }, context: { ...base, uri } };
    }
    case 'prompts/get': {
      const name = params.name;
      if (typeof name !== 'string' || name.length === 0 || name.length > 256) return { invalid: '`params.name` must name a prompt' };
      return { action: 'prompt:get', resource: { type: 'Prompt', id: `${server}/${name}` }, context: { ...base, prompt: name } };
    }
    default:
      return undefined;
  }
}

/** The JSON-RPC answer to a denied call: same id, the decision id and reasons in `data`. */
export function deniedResponse(id: string | number | null, answer: AuthorizeResponse): JsonRpcErrorResponse {
  const reason = answer.result.reasons.find((r) => r.annotations.reason)?.annotations.reason;
  return rpcError(id, JSON_RPC.forbidden, reason ? `forbidden: ${reason}` : 'forbidden by policy', {
    code: 'forbidden',
    decision_id: answer.decision_id,
    decision: answer.result.decision,
    reasons: answer.result.reasons,
  });
}

/** Builds a JSON-RPC error response. */
export function rpcError(id: string | number | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** Formats JSON-RPC messages as SSE `message` events (how streamable HTTP carries them). */
export function sseEvents(messages: readonly unknown[]): string {
  return messages.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join('');
}

function idOf(m: unknown): string | number | null {
  const id = m && typeof m === 'object' ? (m as JsonRpcMessage).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
