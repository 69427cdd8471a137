/**
 * The streamable-HTTP transport of an MCP upstream, enforced: only its endpoint (the prefix
 * itself); POST bodies decided message by message; the GET event stream and the session DELETE
 * only for a session that passed a decided `initialize` for this same agent, each decided as
 * session traffic; every other path or method refused. Every refusal is recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizeResponse, DenyCode, ErrorCode } from '@argus/contracts';
import { ArgusError, errorSummary, InvalidInputError, newDecisionId, sendJson } from '@argus/platform';
import { sendProblem } from './answers.ts';
import { refusal, type CallState } from './call.ts';
import type { Caller } from './caller.ts';
import type { ProxyContext } from './context.ts';
import { decideCall, type Verdict } from './decide.ts';
import { decideWithin, isAllowed, unavailableResult } from './decision.ts';
import { buildInput, header, type Facts } from './facts.ts';
import {
  JSON_RPC,
  deniedResponse,
  describeMcpMessage,
  parseMcpBody,
  rpcError,
  sessionCall,
  type JsonRpcErrorResponse,
  type JsonRpcMessage,
} from './mcp.ts';
import { decideWhatIfs, listRequestsOf, type ListFilterContext } from './mcp-lists.ts';
import { finish } from './record.ts';
import type { CallDescription } from './route-mapping.ts';
import type { Route } from './routing.ts';

/** Decides a call on an MCP upstream: forwarded, or answered (refused, denied, fail closed). */
export async function decideMcpCall(
  ctx: ProxyContext,
  route: Route,
  req: IncomingMessage,
  path: string,
  caller: Caller,
  state: CallState,
  res: ServerResponse,
): Promise<Verdict> {
  const { upstream } = route;
  const { facts } = caller;
  const method = req.method ?? 'GET';
  const sessionId = header(req, 'mcp-session-id');
  const refuse = (
    status: number,
    code: ErrorCode,
    reason: DenyCode,
    message: string,
    call = sessionCall(upstream.name, method),
  ): Verdict => {
    const decided = refusal(
      ctx,
      state,
      buildInput(state.agent, facts, { ...call, context: { ...call.context, httpMethod: method, path } }),
      reason,
    );
    if (status === 405) res.setHeader('allow', 'GET, POST, DELETE');
    sendProblem(res, 'argus', status, { code, message, errors: [], decision_id: decided.answer.decision_id, codes: [reason] });
    finish(ctx, state, { status: undefined, error: 'refused' });
    return 'answered';
  };
  if (path !== '/')
    return refuse(
      404,
      'not_found',
      'mcp_path_not_allowed',
      `MCP upstream \`${upstream.name}\` answers only at its endpoint \`${upstream.prefix}\``,
    );
  if (sessionId !== undefined) {
    const owner = ctx.mcpSessions.get(sessionId);
    if (owner !== undefined && owner !== state.agent)
      return refuse(403, 'forbidden', 'mcp_session_foreign', 'MCP session belongs to another agent');
    // A session this proxy did not see opened (another process, a restart, evicted from the
    // bounded map) has no owner to check: 404, on which an MCP client opens a new session, rather
    // than letting any agent post into it.
    if (owner === undefined)
      return refuse(
        404,
        'not_found',
        'mcp_session_not_decided',
        'no MCP session opened by this agent through a decided `initialize`: open a new session',
      );
  }
  if (method === 'POST') return decideMcpPost(ctx, facts, state, res);
  if (method !== 'GET' && method !== 'DELETE')
    return refuse(405, 'method_not_allowed', 'mcp_method_not_allowed', `\`${method.slice(0, 20)}\` is not an MCP transport method`);
  const mcpMethod = method === 'GET' ? 'session/stream' : 'session/end';
  if (sessionId === undefined || ctx.mcpSessions.get(sessionId) !== state.agent) {
    return refuse(
      404,
      'not_found',
      'mcp_session_not_decided',
      'no MCP session opened by this agent through a decided `initialize`',
      sessionCall(upstream.name, mcpMethod),
    );
  }
  const decided = await decideCall(ctx, facts, sessionCall(upstream.name, mcpMethod), state, res);
  if (!decided) return 'answered';
  if (!isAllowed(decided.answer)) {
    decided.forwarded = false;
    sendJson(res, 403, deniedResponse(null, decided.answer, ctx.config.denyDetail));
    finish(ctx, state, { status: undefined, error: 'denied' });
    return 'answered';
  }
  // A list answered on the session's stream is filtered too (recognised by its shape).
  state.mcp = {
    batch: false,
    denied: [],
    initialize: false,
    ...(method === 'DELETE' ? { endsSession: sessionId } : { lists: { requests: new Map(), ctx: listFilter(ctx, facts, state) } }),
  };
  return 'forward';
}

/**
 * Decides every message of an MCP POST (request, notification, answer; alone or in a batch):
 * see `describeMcpMessage` for what each is decided as. A batch is decided per element: the
 * refused elements are answered with their JSON-RPC error (per id; a refused notification gets
 * none, as JSON-RPC wants) and the rest is forwarded, the answers merged. Answered when nothing
 * is left to forward, the body is malformed, or the decision point failed (fail closed); otherwise
 * leaves the body to forward in `state.body` with the refused messages removed.
 */
async function decideMcpPost(ctx: ProxyContext, facts: Facts, state: CallState, res: ServerResponse): Promise<Verdict> {
  const { upstream } = state;
  const parsed = parseMcpBody(state.body, ctx.config.limits.maxBatchSize, ctx.config.limits.maxJsonDepth);
  if (!parsed.ok) {
    refusal(ctx, state, buildInput(state.agent, facts, sessionCall(upstream.name, 'malformed')), 'mcp_malformed');
    sendJson(res, 400, parsed.error);
    finish(ctx, state, { status: undefined, error: 'refused' });
    return 'answered';
  }
  /** JSON-RPC errors for the refused messages that have an id. */
  const answers: JsonRpcErrorResponse[] = [];
  const toDecide: Array<{ m: JsonRpcMessage; call: CallDescription }> = [];
  const refused = new Set<JsonRpcMessage>();
  /** The first refusal, for the HTTP answer when only notifications were refused. */
  let first: JsonRpcErrorResponse | undefined;
  const refuse = (m: JsonRpcMessage, rpcCode: number, message: string, code: DenyCode, call: CallDescription) => {
    const d = refusal(ctx, state, buildInput(state.agent, facts, call), code);
    const answer = rpcError(m.id ?? null, rpcCode, message, { code, decision_id: d.answer.decision_id, codes: [code] });
    refused.add(m);
    first ??= answer;
    if (m.id !== undefined) answers.push(answer);
  };
  for (const m of parsed.messages) {
    const view = describeMcpMessage(upstream.name, m);
    const fallback = sessionCall(upstream.name, m.method ?? 'response');
    if ('invalid' in view) refuse(m, JSON_RPC.invalidParams, view.invalid, 'mcp_invalid_params', fallback);
    else if ('refused' in view)
      refuse(
        m,
        m.method === undefined ? JSON_RPC.invalidRequest : JSON_RPC.methodNotFound,
        view.refused.message,
        view.refused.code,
        fallback,
      );
    else if (view.action === 'tool:call' && ctx.changedTools.has(upstream.name, String(view.context.tool))) {
      refuse(
        m,
        JSON_RPC.forbidden,
        `tool \`${String(view.context.tool).slice(0, 100)}\` changed since it was approved: refused until it is re-approved`,
        'mcp_tool_changed',
        view,
      );
    } else toDecide.push({ m, call: view });
  }
  const t0 = performance.now();
  // A message the decision point refuses as bad input is the caller's error, refused like any
  // invalid message (recorded, never forwarded); any other failure is an outage for the whole body.
  const asked = toDecide.map(({ m, call }) => ({ m, call, input: buildInput(state.agent, facts, call) }));
  const settled = await Promise.allSettled(
    asked.map(({ input }) =>
      decideWithin(
        ctx.deps.decisionPoint,
        input,
        { caller: { kind: 'proxy', subject: state.agent }, audit: false, explain: 'reasons' },
        ctx.config.decision.timeoutMs,
      ),
    ),
  );
  const badInput = (r: PromiseSettledResult<AuthorizeResponse>) => r.status === 'rejected' && r.reason instanceof InvalidInputError;
  settled.forEach((r, i) => {
    if (badInput(r))
      refuse(
        asked[i]!.m,
        JSON_RPC.invalidParams,
        String((r as PromiseRejectedResult).reason.message).slice(0, 300),
        'mcp_invalid_params',
        asked[i]!.call,
      );
  });
  const decidable = asked.filter((_, i) => !badInput(settled[i]!));
  const inputs = decidable.map(({ input }) => input);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !badInput(r));
  const decisions = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    const err: unknown = failed.reason;
    for (const input of inputs) {
      ctx.metrics.decisions.inc({ upstream: upstream.name, outcome: 'unavailable' });
      state.decisions.push({
        input,
        answer: {
          decision_id: newDecisionId(),
          policy_version: 'unavailable',
          result: unavailableResult(err instanceof ArgusError ? err.message : 'decision point failed'),
        },
        latencyMs: performance.now() - t0,
        forwarded: false,
      });
    }
    state.lazyLog().warn({ upstream: upstream.name, err: errorSummary(err) }, 'decision unavailable; failing closed');
    finish(ctx, state, { status: undefined, error: 'decision_unavailable' });
    sendJson(res, 503, { code: 'unavailable', message: 'decision point unavailable; call refused', errors: [] });
    return 'answered';
  }
  const latencyMs = performance.now() - t0;
  if (inputs.length > 0) ctx.metrics.decisionLatency.observe({ upstream: upstream.name }, latencyMs / 1000);
  decidable.forEach(({ m }, i) => {
    const answer = decisions[i]!;
    const allowed = isAllowed(answer);
    ctx.metrics.decisions.inc({
      upstream: upstream.name,
      outcome: allowed ? 'allow' : answer.result.decision === 'needs_approval' ? 'needs_approval' : 'deny',
    });
    state.decisions.push({ input: inputs[i]!, answer, latencyMs, forwarded: allowed });
    if (!allowed) {
      const denied = deniedResponse(m.id ?? null, answer, ctx.config.denyDetail);
      refused.add(m);
      first ??= denied;
      if (m.id !== undefined) answers.push(denied);
    }
  });
  const forward = parsed.messages.filter((m) => !refused.has(m));
  const lists = listRequestsOf(forward);
  state.mcp = {
    batch: parsed.batch,
    denied: answers,
    initialize: forward.some((m) => m.method === 'initialize'),
    ...(lists.size > 0 ? { lists: { requests: lists, ctx: listFilter(ctx, facts, state) } } : {}),
  };
  if (forward.length === 0) {
    // Only refused messages. With ids, their errors (HTTP 200, as a server answers them); only
    // notifications: an HTTP error, as streamable HTTP wants for input it does not accept.
    if (answers.length > 0) sendJson(res, 200, parsed.batch ? answers : answers[0]);
    else sendJson(res, 403, first);
    finish(ctx, state, { status: undefined, error: 'denied' });
    return 'answered';
  }
  if (refused.size > 0) state.body = Buffer.from(JSON.stringify(parsed.batch ? forward : forward[0]));
  return 'forward';
}

/**
 * How the lists of an MCP answer are filtered for this call: each item decided as a what-if with
 * the list request's facts (no side effect, no record); tools compared with the registry; a tool
 * refused as changed recorded as a refusal of the call.
 */
function listFilter(ctx: ProxyContext, facts: Facts, state: CallState): ListFilterContext {
  const { upstream } = state;
  return {
    server: upstream.name,
    inputFor: (call) => buildInput(state.agent, facts, call),
    decideWhatIf: (inputs) =>
      decideWhatIfs(
        ctx.deps.decisionPoint,
        inputs,
        { caller: { kind: 'proxy', subject: state.agent }, explain: 'reasons' },
        ctx.config.decision.timeoutMs,
      ),
    ...(ctx.deps.tools ? { catalogue: ctx.deps.tools } : {}),
    changed: ctx.changedTools,
    onChanged: (input, code) => {
      if (!state.done) refusal(ctx, state, input, code);
    },
    onRefused: (list, err) => {
      ctx.metrics.upstreamErrors.inc({ upstream: upstream.name, kind: 'list' });
      state
        .lazyLog()
        .warn({ upstream: upstream.name, list: list.kind, err: errorSummary(err) }, 'MCP list refused: it could not be filtered');
    },
    onDrift: ({ trust, diff }) =>
      state
        .lazyLog()
        .warn(
          { upstream: upstream.name, trust, diff },
          'MCP tool list changed since it was approved: changed tools refused, recorded in the registry',
        ),
  };
}
