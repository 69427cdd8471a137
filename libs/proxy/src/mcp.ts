import { isUtf8 } from 'node:buffer';
import { idProblem, illFormedUtf16, type AuthorizeResponse, type DenyCode } from '@argus/contracts';
import { duplicateKeyPath, findTooDeep } from '@argus/platform';
import { deniedProblem, type DenyDetail } from './answers.ts';
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
  methodNotFound: -32601,
  invalidParams: -32602,
  /** Server-defined: the call was denied by policy. */
  forbidden: -32001,
  /** Server-defined: no decision could be made (fail closed). */
  unavailable: -32003,
} as const;

/** A parsed POST body: one message or a batch. */
export type McpBody = { ok: true; batch: boolean; messages: JsonRpcMessage[] } | { ok: false; error: JsonRpcErrorResponse };

/** Parses and shape-checks an MCP POST body. */
export function parseMcpBody(body: Buffer | undefined, maxBatch: number, maxDepth = Infinity): McpBody {
  let doc: unknown;
  let text = '';
  try {
    if (body && !isUtf8(body)) throw new Error('not UTF-8');
    text = (body ?? Buffer.alloc(0)).toString('utf8');
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: rpcError(null, JSON_RPC.parseError, 'parse error') };
  }
  // An upstream's parser may recurse: nesting past `proxy.limits.maxJsonDepth` never reaches it.
  const deep = Number.isFinite(maxDepth) ? findTooDeep(doc, maxDepth) : undefined;
  if (deep !== undefined)
    return {
      ok: false,
      error: rpcError(null, JSON_RPC.invalidRequest, `JSON nested deeper than ${maxDepth} levels at \`${deep.slice(0, 200)}\``),
    };
  // The upstream's parser may keep the first of two equal keys where JSON.parse keeps the last:
  // `{"params":{"name":"delete","name":"echo"}}` would be decided as `echo` and run as `delete`.
  const twice = duplicateKeyPath(text);
  if (twice !== undefined)
    return {
      ok: false,
      error: rpcError(null, JSON_RPC.invalidRequest, `\`${twice.slice(0, 200)}\` is named twice in one object`),
    };
  const batch = Array.isArray(doc);
  const items: unknown[] = batch ? (doc as unknown[]) : [doc];
  if (items.length === 0 || items.length > maxBatch) {
    return {
      ok: false,
      error: rpcError(null, JSON_RPC.invalidRequest, items.length === 0 ? 'empty batch' : `batch larger than ${maxBatch}`),
    };
  }
  for (const m of items) {
    if (!m || typeof m !== 'object' || Array.isArray(m) || (m as JsonRpcMessage).jsonrpc !== '2.0') {
      return { ok: false, error: rpcError(idOf(m), JSON_RPC.invalidRequest, 'not a JSON-RPC 2.0 message') };
    }
    const { method, id } = m as JsonRpcMessage;
    if (method !== undefined && typeof method !== 'string')
      return { ok: false, error: rpcError(idOf(m), JSON_RPC.invalidRequest, '`method` must be a string') };
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number')
      return { ok: false, error: rpcError(null, JSON_RPC.invalidRequest, '`id` must be a string or a number') };
  }
  return { ok: true, batch, messages: items as JsonRpcMessage[] };
}

/**
 * Notifications that carry no action and may pass (decided as session traffic, see
 * {@link describeMcpMessage}). Any other notification is refused: a notification the proxy does
 * not know could carry an action it would never decide.
 */
export const MCP_SESSION_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);

/** Requests that name no tool, resource or prompt: decided as session traffic (`mcp:connect`). */
export const MCP_SESSION_REQUESTS: ReadonlySet<string> = new Set([
  'ping',
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
  'logging/setLevel',
]);

/** How the proxy treats one MCP message: decide it, answer it as malformed, or refuse it outright. */
export type McpMessageView = CallDescription | { invalid: string } | { refused: { code: DenyCode; message: string } };

/** The Cedar view of the session itself: what `initialize`, listing, pings, allowed notifications and answers are decided as. */
export function sessionCall(server: string, mcpMethod: string): CallDescription {
  return { action: 'mcp:connect', resource: { type: 'McpServer', id: server }, context: { server, mcpMethod }, sessionTraffic: true };
}

/**
 * The Cedar view of one MCP message on server `server`. Nothing passes undecided:
 * - `tools/call`, `resources/read` (and `resources/subscribe`/`unsubscribe`), `prompts/get` and
 *   `completion/complete` name what they act on and are decided on it, with or without an `id`
 *   (a `tools/call` sent as a notification is decided like any other);
 * - `initialize`, the listing requests, `ping`, `logging/setLevel`, the allowed notifications
 *   ({@link MCP_SESSION_NOTIFICATIONS}) and answers to the server's own requests are decided as
 *   `mcp:connect` on `McpServer::"<server>"` (the right to be in the session), with the method in
 *   `context.mcpMethod`;
 * - anything else is refused (`mcp_method_not_allowed`).
 * Malformed params answer `{ invalid }`.
 */
export function describeMcpMessage(server: string, m: JsonRpcMessage): McpMessageView {
  if (m.method === undefined) {
    // An answer to a request of the server (sampling, elicitation, roots): session traffic.
    if (m.id !== undefined && (m.result !== undefined || m.error !== undefined)) return sessionCall(server, 'response');
    return {
      refused: { code: 'mcp_message_malformed', message: 'a JSON-RPC message needs a `method`, or a `result` or `error` with an `id`' },
    };
  }
  const params = (m.params && typeof m.params === 'object' ? m.params : {}) as Record<string, unknown>;
  const base = { server, mcpMethod: m.method };
  switch (m.method) {
    case 'initialize':
      return sessionCall(server, m.method);
    case 'tools/call': {
      const name = params.name;
      if (typeof name !== 'string' || name.length === 0 || name.length > 256) return { invalid: '`params.name` must name a tool' };
      const problem = idProblem(name);
      if (problem) return { invalid: `\`params.name\` ${problem}` };
      const args =
        params.arguments && typeof params.arguments === 'object' && !Array.isArray(params.arguments)
          ? Object.keys(params.arguments).slice(0, 64)
          : [];
      // The argument names go into the decision's context, which refuses a lone surrogate: the caller's error.
      if (args.some(illFormedUtf16)) return { invalid: '`params.arguments` names an argument that is not well-formed UTF-16' };
      return {
        action: 'tool:call',
        resource: { type: 'Tool', id: `${server}/${name}` },
        context: { ...base, tool: name, argumentNames: args },
      };
    }
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return resourceCall(server, base, params.uri);
    case 'prompts/get':
      return promptCall(server, base, params.name);
    case 'completion/complete': {
      const ref = (params.ref && typeof params.ref === 'object' ? params.ref : {}) as Record<string, unknown>;
      if (ref.type === 'ref/prompt') return promptCall(server, base, ref.name);
      if (ref.type === 'ref/resource') return resourceCall(server, base, ref.uri);
      return { invalid: '`params.ref` must name a prompt or a resource' };
    }
    default:
      if (m.id === undefined ? MCP_SESSION_NOTIFICATIONS.has(m.method) : MCP_SESSION_REQUESTS.has(m.method))
        return sessionCall(server, m.method);
      return {
        refused: { code: 'mcp_method_not_allowed', message: `MCP method \`${m.method.slice(0, 100)}\` is not allowed through the proxy` },
      };
  }
}

function resourceCall(server: string, base: Record<string, unknown>, uri: unknown): McpMessageView {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > 2048) return { invalid: '`params.uri` must name a resource' };
  const problem = idProblem(uri);
  if (problem) return { invalid: `\`params.uri\` ${problem}` };
  return { action: 'resource:read', resource: { type: 'Resource', id: `${server}/${uri}` }, context: { ...base, uri } };
}

function promptCall(server: string, base: Record<string, unknown>, name: unknown): McpMessageView {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) return { invalid: '`params.name` must name a prompt' };
  const problem = idProblem(name);
  if (problem) return { invalid: `\`params.name\` ${problem}` };
  return { action: 'prompt:get', resource: { type: 'Prompt', id: `${server}/${name}` }, context: { ...base, prompt: name } };
}

/**
 * The JSON-RPC answer to a denied call: same id, the reason in words and the decision id in the
 * message, `data: {code, decision_id, decision, codes}` (and the determining policies at `full`).
 */
export function deniedResponse(id: string | number | null, answer: AuthorizeResponse, detail: DenyDetail): JsonRpcErrorResponse {
  const problem = deniedProblem(answer, detail);
  return rpcError(id, JSON_RPC.forbidden, problem.message, {
    code: 'forbidden',
    decision_id: answer.decision_id,
    decision: answer.result.decision,
    codes: problem.codes,
    ...(detail === 'full' ? { reasons: answer.result.reasons } : {}),
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
