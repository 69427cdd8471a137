import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type {
  AuthorizeInput,
  AuthorizeResponse,
  DecisionEvent,
  DecisionPoint,
  DecisionRecorder,
  DenyCode,
  EntityRef,
  ErrorCode,
  ProxyOutcome,
  UsageSink,
} from '@argus/contracts';
import {
  ArgusError,
  InvalidInputError,
  UnavailableError,
  errorSummary,
  lazyRequestLog,
  readRawBody,
  requestIdOf,
  sendJson,
  unencodedBody,
  type DrainHooks,
  type Logger,
  type Registry,
} from '@argus/platform';
import type { ResolvedSecret, SecretsBroker } from '@argus/secrets';
import express from 'express';
import { LRUCache } from 'lru-cache';
import { createProxyMiddleware, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import { deniedProblem, dialectOf, sendFailure, sendProblem, type Dialect } from './answers.ts';
import type { ProxyConfig, UpstreamConfig } from './config.ts';
import { decideWithin, isAllowed, unavailableResult } from './decision.ts';
import { SHUTTING_DOWN, finalStreamEvent } from './drain.ts';
import { responseHeaders, sanitizeRequestHeaders } from './headers.ts';
import type { AgentIdentity, Authenticate } from './identity.ts';
import { injectCredential, injectionFor, type CredentialInjection } from './inject-credential.ts';
import {
  JSON_RPC,
  deniedResponse,
  describeMcpMessage,
  parseMcpBody,
  rpcError,
  sessionCall,
  sseEvents,
  type JsonRpcErrorResponse,
  type JsonRpcMessage,
} from './mcp.ts';
import {
  ChangedTools,
  SseListFilter,
  decideWhatIfs,
  filterListAnswers,
  listRequestsOf,
  type ListFilterContext,
  type ListRequests,
  type McpToolCatalogue,
} from './mcp-lists.ts';
import { proxyMetrics } from './metrics.ts';
import {
  OBLIGATIONS_HEADER,
  SseRewriter,
  applyToAnswer,
  obligationsHeader,
  obligationsOf,
  rewritesBody,
  type Applied,
  type ProxyObligations,
} from './obligations.ts';
import { describeHttpCall, isCanonicalPath, type CallDescription } from './route-mapping.ts';
import { createPriceTable } from './prices.ts';
import { SseUsageObserver, finalizeUsage, usageFromObject, type TokenUsage } from './usage.ts';

/** Everything the proxy needs, injected by the composition root. */
export interface ProxyDeps {
  config: Readonly<ProxyConfig>;
  /** Decides every call; asked with `audit: false` because the proxy writes the record itself. */
  decisionPoint: DecisionPoint;
  secrets: SecretsBroker;
  /** Receives one event per decision once the upstream has answered (or the call was refused). */
  recorder: DecisionRecorder;
  /** Receives token usage for calls made under a goal. */
  usage: UsageSink;
  logger: Logger;
  metrics: Registry;
  authenticate: Authenticate;
  /**
   * The registry's MCP tools, for the runtime rug-pull check of `tools/list` (see `mcp-lists.ts`).
   * Without it lists are still filtered by the policies, item by item, but not compared.
   */
  tools?: McpToolCatalogue;
  /** The clock in ms since the epoch (tests). */
  now?: () => number;
}

/** The request headers carrying the decision facts. */
export const ARGUS_HEADERS = {
  intent: 'x-argus-intent',
  goal: 'x-argus-goal',
  delegation: 'x-argus-delegation',
  delegationToken: 'x-argus-delegation-token',
} as const;

/** One decision made for a call, kept until the record is written. */
interface Decided {
  input: AuthorizeInput;
  answer: AuthorizeResponse;
  latencyMs: number;
  /** False when the call (or this JSON-RPC message) was not forwarded. */
  forwarded: boolean;
}

/** What the proxy remembers about one forwarded call between the decision and the record. */
interface CallState {
  upstream: UpstreamConfig;
  /** The error format of the caller's SDK. */
  dialect: Dialect;
  agent: string;
  /** The obligations of the allows the call went up under, when there are any. */
  obligations?: ProxyObligations;
  /** What applying them did to the answer. */
  applied?: Applied;
  /** True when the call was refused before its caller was authenticated (`agent` is then a placeholder). */
  anonymous?: boolean;
  goal?: string;
  body?: Buffer;
  credential?: ResolvedSecret;
  injection?: CredentialInjection;
  decisions: Decided[];
  /** MCP only: the answers for refused messages, whether an `initialize` went up, the session a DELETE ends. */
  mcp?: {
    batch: boolean;
    denied: JsonRpcErrorResponse[];
    initialize: boolean;
    endsSession?: string;
    lists?: { requests: ListRequests; ctx: ListFilterContext };
  };
  started: number;
  forwardedAt?: number;
  status?: number;
  usage?: TokenUsage;
  error?: string;
  timers: NodeJS.Timeout[];
  done: boolean;
  /** Set once forwarded: what a shutdown needs to abort the call (see `abortCall`). */
  inFlight?: { res: ServerResponse; upstreamReq?: ClientRequest; upstreamRes?: IncomingMessage; cut?: () => void; aborted?: boolean };
  /** The request's logger (built on first use). */
  lazyLog: () => Logger;
}

/** What the proxy knows of a call so far (to record it however it ends). */
interface Seen {
  started: number;
  /** The authenticated agent, once known. */
  agent?: string;
  state?: CallState;
}

/** The principal recorded for a call refused before its caller was authenticated. */
const ANONYMOUS = 'anonymous';

/** The `policy_version` of a refusal the proxy made itself, without asking the decision point. */
const REFUSED_BY_PROXY = 'proxy';

const SAFE_ID = /^[\w.:@/-]{1,256}$/;
const DELEGATION_HOP = /^\s*([A-Za-z_][A-Za-z0-9_]*)::(?:"([^"\\]{1,256})"|([\w.:@/-]{1,256}))\s*$/;

/**
 * The proxy as a request listener: give it to `http.createServer`, or mount it in express. `drain`
 * is for the shutdown (`Shutdown.addServer(..., { drain })`): the calls in flight, and aborting them.
 */
export type ProxyApp = ((req: IncomingMessage, res: ServerResponse) => void) & { drain: Required<DrainHooks> };

/** One configured upstream, ready to serve. */
interface Route {
  upstream: UpstreamConfig;
  dialect: Dialect;
  /** The prefix, lower-cased: matched without regard to case, as a mount point is. */
  prefix: string;
  maxBodyBytes: number;
  stripHeaders: string[];
  injection: CredentialInjection | undefined;
  proxy: ProxyHandler;
  /** Reads bodies sent with a content encoding (decompressed within the limit). */
  encodedBody: ReturnType<typeof express.raw>;
}

/**
 * Builds the enforcement proxy: one route per configured upstream, each one authenticating the
 * agent, deciding the call, injecting the real credential and forwarding with
 * http-proxy-middleware. Unknown paths answer 404; nothing is ever routed by `Host`. The hot path
 * is plain `node:http` (no framework between the socket and the decision).
 */
export function createProxyApp(deps: ProxyDeps): ProxyApp {
  const { config } = deps;
  const now = deps.now ?? Date.now;
  const metrics = proxyMetrics(deps.metrics);
  const scrubber = deps.secrets.scrubber;
  const states = new WeakMap<IncomingMessage, CallState>();
  /** MCP session id → the agent that opened it: a session cannot be used by another agent. */
  const mcpSessions = new LRUCache<string, string>({ max: 10_000 });
  /** Tools seen changed by a list, refused on `tools/call` until a list shows them re-approved. */
  const changedTools = new ChangedTools();
  const prices = createPriceTable(config.prices);
  /** Models already warned about having no price (bounded: one warning each, not one per call). */
  const unpriced = new LRUCache<string, true>({ max: 1000 });

  const routes: Route[] = config.upstreams.map((upstream) => {
    const maxBodyBytes = upstream.maxBodyBytes ?? config.limits.maxBodyBytes;
    const agent = upstream.target.startsWith('https:')
      ? new HttpsAgent({ keepAlive: true, maxSockets: Infinity })
      : new HttpAgent({ keepAlive: true, maxSockets: Infinity });
    const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
      target: upstream.target,
      changeOrigin: true,
      xfwd: false,
      followRedirects: false,
      autoRewrite: false,
      selfHandleResponse: true,
      agent,
      ejectPlugins: true,
      plugins: [
        (server) => {
          server.on('proxyReq', (proxyReq, req) => onProxyReq(proxyReq, req));
          server.on('proxyRes', (proxyRes, req, res) => onProxyRes(proxyRes, req, res));
          server.on('error', (err, req, res) => onProxyError(err, req, res as ServerResponse));
          server.on('econnreset', (err, req, res) => onProxyError(err, req, res as ServerResponse));
        },
      ],
    });
    return {
      upstream,
      dialect: dialectOf(upstream.kind),
      prefix: upstream.prefix.toLowerCase(),
      maxBodyBytes,
      stripHeaders: [...config.stripHeaders, ...upstream.stripHeaders],
      injection: injectionFor(upstream),
      proxy,
      encodedBody: express.raw({ type: () => true, limit: maxBodyBytes }),
    };
  });

  /** Calls forwarded and not finished: what a shutdown drains, then aborts. */
  const inFlight = new Set<CallState>();

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const route = routeOf(routes, url);
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const log = lazyRequestLog(deps.logger, requestId);
    if (!route) {
      const path = url.split('?', 1)[0]!;
      sendJson(res, 404, { code: 'not_found', message: `no upstream for \`${path.slice(0, 200)}\``, errors: [] });
      return;
    }
    // What follows the prefix is the upstream path (`/openai/v1/x?q` → `/v1/x?q`).
    const rest = url.slice(route.prefix.length);
    req.url = rest.startsWith('/') ? rest : `/${rest}`;
    const seen: Seen = { started: now() };
    bodyOf(route, req, res)
      .then((body) => handle(route, body, req, res, log, seen))
      .catch((err: unknown) => {
        recordFailure(route, req, seen, err, log);
        sendFailure(res, route.dialect, err, log());
      });
  };
  return Object.assign(listener, {
    drain: {
      inFlight: () => inFlight.size,
      start: () => {
        // An MCP session's event stream never ends on its own: like the decision stream, it gets
        // its final event as soon as draining starts instead of holding the drain for the grace.
        for (const state of [...inFlight])
          if (state.decisions.some((d) => d.forwarded && d.input.context?.mcpMethod === 'session/stream')) abortCall(state);
      },
      abort: () => {
        for (const state of [...inFlight]) abortCall(state);
      },
    },
  });

  /**
   * Ends a call the shutdown grace ran out on: recorded first (`aborted`), then answered 503 in
   * its caller's dialect, or, mid-stream, given a final error event; the upstream call is dropped
   * once the answer is flushed. A call answering a body that is not an event stream is cut.
   */
  function abortCall(state: CallState): void {
    const call = state.inFlight;
    if (state.done || !call) return;
    call.aborted = true;
    finish(state, { status: state.status, error: 'aborted' });
    const { res } = call;
    const dropUpstream = () => {
      call.upstreamRes?.destroy();
      call.upstreamReq?.destroy();
    };
    res.on('error', () => undefined);
    if (!res.headersSent) {
      dropUpstream();
      res.shouldKeepAlive = false;
      sendProblem(res, state.dialect, 503, SHUTTING_DOWN);
    } else if (call.cut) {
      call.cut();
      res.end(finalStreamEvent(state.dialect), dropUpstream);
    } else {
      dropUpstream();
      res.destroy();
    }
  }

  /**
   * Records a call refused before (or without) a decision — unreadable body, non-canonical path,
   * bad Argus header, no model, no credential — so that every refused call has its record.
   */
  function recordFailure(route: Route, req: IncomingMessage, seen: Seen, err: unknown, log: () => Logger, code?: DenyCode): void {
    if (seen.state?.done) return;
    const state: CallState = seen.state ?? {
      upstream: route.upstream,
      dialect: route.dialect,
      agent: seen.agent ?? ANONYMOUS,
      ...(seen.agent === undefined ? { anonymous: true } : {}),
      decisions: [],
      started: seen.started,
      timers: [],
      done: false,
      lazyLog: log,
    };
    const reason = code ?? (err instanceof ArgusError ? err.code : 'internal_error');
    const path = (req.url ?? '/').split('?', 1)[0]!.slice(0, 512);
    const call: CallDescription = {
      action: 'proxy:request',
      resource: { type: 'Api', id: route.upstream.name },
      context: { upstream: route.upstream.name, method: req.method ?? 'GET', path },
    };
    refusal(state, buildInput(state.agent, {}, call), reason);
    finish(state, { status: undefined, error: 'refused' });
  }

  function bodyOf(route: Route, req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    if (unencodedBody(req)) return readRawBody(req, route.maxBodyBytes);
    return new Promise((resolve, reject) => {
      const withBody = req as IncomingMessage & { body?: unknown };
      route.encodedBody(withBody as never, res as never, (err?: unknown) =>
        err ? reject(err) : resolve(Buffer.isBuffer(withBody.body) ? withBody.body : undefined),
      );
    });
  }

  /** Authenticate, describe, decide, resolve the credential, then hand over to the proxy. */
  async function handle(
    route: Route,
    received: Buffer | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    lazyLog: () => Logger,
    seen: Seen,
  ): Promise<void> {
    const { upstream, injection } = route;
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (!isCanonicalPath(path))
      throw new InvalidInputError('request path is not canonical', [
        { path: '/path', message: 'dot segments, encoded separators and empty segments are refused' },
      ]);
    const identity = await deps.authenticate(req);
    if (!identity) {
      recordFailure(route, req, seen, undefined, lazyLog, 'unauthenticated');
      res.setHeader('www-authenticate', 'Bearer realm="argus"');
      sendProblem(res, route.dialect, 401, { code: 'unauthorized', message: 'missing or invalid agent credential', errors: [] });
      return;
    }
    seen.agent = identity.agent;
    const facts = readFacts(req, identity);
    const body = received && received.length > 0 ? received : undefined;
    const state: CallState = {
      upstream,
      dialect: route.dialect,
      agent: identity.agent,
      decisions: [],
      started: seen.started,
      timers: [],
      done: false,
      lazyLog,
      ...(facts.goal !== undefined ? { goal: facts.goal } : {}),
      ...(body ? { body } : {}),
    };
    seen.state = state;

    if (upstream.kind === 'mcp') {
      if (await guardMcp(route, req, path, facts, state, res)) return;
    } else {
      const call = describeHttpCall(upstream, req.method ?? 'GET', path, body);
      const decided = await decideOrFail(upstream, facts, call, state, res);
      if (!decided) return;
      if (!isAllowed(decided.answer)) {
        decided.forwarded = false;
        sendProblem(res, route.dialect, 403, deniedProblem(decided.answer, config.denyDetail));
        finish(state, { status: undefined, error: 'denied' });
        return;
      }
    }
    if (!acceptObligations(state, res)) return;

    if (upstream.credential && injection) {
      let credential: ResolvedSecret | undefined;
      try {
        credential = await deps.secrets.resolve(upstream.credential.name, {
          agent: identity.agent,
          ...(facts.goal !== undefined ? { goal: facts.goal } : {}),
        });
      } catch (err) {
        lazyLog().error({ err: errorSummary(err), upstream: upstream.name }, 'credential lookup failed');
      }
      if (!credential) {
        finish(state, { status: undefined, error: 'credential_unavailable' });
        throw new UnavailableError(`credential for upstream \`${upstream.name}\` is not available`);
      }
      state.credential = credential;
      state.injection = injection;
    }

    sanitizeRequestHeaders(req.headers, route.stripHeaders);
    states.set(req, state);
    state.inFlight = { res };
    inFlight.add(state);
    state.forwardedAt = now();
    res.on('close', () => {
      // INVARIANT: every path that ends the response normally calls `finish` itself.
      if (!state.done && !res.writableFinished) finish(state, { status: state.status, error: 'client_closed' });
    });
    await route.proxy(req, res, (err?: unknown) =>
      sendFailure(res, route.dialect, err ?? new Error('proxy refused the request'), lazyLog()),
    );
  }

  /**
   * The streamable-HTTP transport of an MCP upstream, enforced: only its endpoint (the prefix
   * itself); POST bodies decided message by message; the GET event stream and the session DELETE
   * only for a session that passed a decided `initialize` for this same agent, each decided as
   * session traffic; every other path or method refused. Every refusal is recorded. Returns true
   * when the answer was already sent.
   */
  async function guardMcp(
    route: Route,
    req: IncomingMessage,
    path: string,
    facts: Facts,
    state: CallState,
    res: ServerResponse,
  ): Promise<boolean> {
    const { upstream } = route;
    const method = req.method ?? 'GET';
    const sessionId = header(req, 'mcp-session-id');
    const refuse = (
      status: number,
      code: ErrorCode,
      reason: DenyCode,
      message: string,
      call = sessionCall(upstream.name, method),
    ): true => {
      const decided = refusal(
        state,
        buildInput(state.agent, facts, { ...call, context: { ...call.context, httpMethod: method, path } }),
        reason,
      );
      if (status === 405) res.setHeader('allow', 'GET, POST, DELETE');
      sendProblem(res, 'argus', status, { code, message, errors: [], decision_id: decided.answer.decision_id, codes: [reason] });
      finish(state, { status: undefined, error: 'refused' });
      return true;
    };
    if (path !== '/')
      return refuse(
        404,
        'not_found',
        'mcp_path_not_allowed',
        `MCP upstream \`${upstream.name}\` answers only at its endpoint \`${upstream.prefix}\``,
      );
    if (sessionId !== undefined) {
      const owner = mcpSessions.get(sessionId);
      if (owner !== undefined && owner !== state.agent)
        return refuse(403, 'forbidden', 'mcp_session_foreign', 'MCP session belongs to another agent');
    }
    if (method === 'POST') return decideMcp(upstream, facts, state, res);
    if (method !== 'GET' && method !== 'DELETE')
      return refuse(405, 'method_not_allowed', 'mcp_method_not_allowed', `\`${method.slice(0, 20)}\` is not an MCP transport method`);
    const mcpMethod = method === 'GET' ? 'session/stream' : 'session/end';
    if (sessionId === undefined || mcpSessions.get(sessionId) !== state.agent) {
      return refuse(
        404,
        'not_found',
        'mcp_session_not_decided',
        'no MCP session opened by this agent through a decided `initialize`',
        sessionCall(upstream.name, mcpMethod),
      );
    }
    const decided = await decideOrFail(upstream, facts, sessionCall(upstream.name, mcpMethod), state, res);
    if (!decided) return true;
    if (!isAllowed(decided.answer)) {
      decided.forwarded = false;
      sendJson(res, 403, deniedResponse(null, decided.answer, config.denyDetail));
      finish(state, { status: undefined, error: 'denied' });
      return true;
    }
    // A list answered on the session's stream is filtered too (recognised by its shape).
    state.mcp = {
      batch: false,
      denied: [],
      initialize: false,
      ...(method === 'DELETE' ? { endsSession: sessionId } : { lists: { requests: new Map(), ctx: listFilter(upstream, facts, state) } }),
    };
    return false;
  }

  /**
   * Takes the obligations of the allows the call goes up under (merged to the strictest). Refuses
   * the call (false) when one cannot be applied: an obligation the proxy does not know, or a body
   * rewrite asked of a streamed model answer (its deltas cannot be redacted safely).
   */
  function acceptObligations(state: CallState, res: ServerResponse): boolean {
    const forwarded = state.decisions.filter((d) => d.forwarded);
    if (!forwarded.some((d) => d.answer.result.obligations)) return true;
    const o = obligationsOf(forwarded.map((d) => d.answer));
    const streamed = state.upstream.kind !== 'mcp' && forwarded.some((d) => d.input.context?.stream === true);
    const why =
      o.unknown.length > 0
        ? `obligation \`${o.unknown.join(', ')}\` cannot be applied by the proxy`
        : rewritesBody(o) && streamed
          ? 'a streamed answer cannot be redacted or truncated: ask without `stream`'
          : undefined;
    if (why !== undefined) {
      // The allows stay recorded as allows, with the refusal as the call's outcome.
      const decisionId = forwarded[0]!.answer.decision_id;
      metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'obligation' });
      sendProblem(res, state.dialect === 'mcp' ? 'argus' : state.dialect, 403, {
        code: 'forbidden',
        message: `refused: ${why} (decision ${decisionId})`,
        errors: [],
        decision_id: decisionId,
        codes: ['obligation_unenforceable'],
      });
      finish(state, { status: undefined, error: 'obligation_unenforceable' });
      return false;
    }
    state.obligations = o;
    return true;
  }

  /** Records a refusal the proxy made itself (no decision point asked): a deny with `code`. */
  function refusal(state: CallState, input: AuthorizeInput, code: DenyCode | ErrorCode): Decided {
    metrics.decisions.inc({ upstream: state.upstream.name, outcome: 'refused' });
    const decided: Decided = {
      input,
      answer: {
        decision_id: randomUUID(),
        policy_version: REFUSED_BY_PROXY,
        result: { allow: false, decision: 'deny', reasons: [], errors: [], codes: [code] },
      },
      latencyMs: 0,
      forwarded: false,
    };
    state.decisions.push(decided);
    return decided;
  }

  /** Decides one described call; on failure answers 503 (fail closed) and records it. */
  async function decideOrFail(
    upstream: UpstreamConfig,
    facts: Facts,
    call: CallDescription,
    state: CallState,
    res: ServerResponse,
  ): Promise<Decided | undefined> {
    const input = buildInput(state.agent, facts, call);
    const t0 = performance.now();
    try {
      const answer = await decideWithin(
        deps.decisionPoint,
        input,
        { caller: { kind: 'proxy', subject: state.agent }, audit: false, explain: 'reasons' },
        config.decision.timeoutMs,
      );
      const latencyMs = performance.now() - t0;
      metrics.decisionLatency.observe({ upstream: upstream.name }, latencyMs / 1000);
      metrics.decisions.inc({
        upstream: upstream.name,
        outcome: isAllowed(answer) ? 'allow' : answer.result.decision === 'needs_approval' ? 'needs_approval' : 'deny',
      });
      const decided: Decided = { input, answer, latencyMs, forwarded: true };
      state.decisions.push(decided);
      return decided;
    } catch (err) {
      unavailable(upstream, input, state, err, performance.now() - t0);
      sendProblem(res, state.dialect, 503, { code: 'unavailable', message: 'decision point unavailable; call refused', errors: [] });
      return undefined;
    }
  }

  function unavailable(upstream: UpstreamConfig, input: AuthorizeInput, state: CallState, err: unknown, latencyMs: number): void {
    metrics.decisions.inc({ upstream: upstream.name, outcome: 'unavailable' });
    const message = err instanceof ArgusError ? err.message : 'decision point failed';
    state.lazyLog().warn({ upstream: upstream.name, err: errorSummary(err) }, 'decision unavailable; failing closed');
    state.decisions.push({
      input,
      answer: { decision_id: randomUUID(), policy_version: 'unavailable', result: unavailableResult(message) },
      latencyMs,
      forwarded: false,
    });
    finish(state, { status: undefined, error: 'decision_unavailable' });
  }

  /**
   * Decides every message of an MCP POST (request, notification, answer; alone or in a batch):
   * see `describeMcpMessage` for what each is decided as. A batch is decided per element: the
   * refused elements are answered with their JSON-RPC error (per id; a refused notification gets
   * none, as JSON-RPC wants) and the rest is forwarded, the answers merged. Returns true when the
   * response was already sent (nothing left to forward, malformed, or fail closed); otherwise
   * leaves the body to forward in `state.body` with the refused messages removed.
   */
  async function decideMcp(upstream: UpstreamConfig, facts: Facts, state: CallState, res: ServerResponse): Promise<boolean> {
    const parsed = parseMcpBody(state.body, config.limits.maxBatchSize);
    if (!parsed.ok) {
      refusal(state, buildInput(state.agent, facts, sessionCall(upstream.name, 'malformed')), 'mcp_malformed');
      sendJson(res, 400, parsed.error);
      finish(state, { status: undefined, error: 'refused' });
      return true;
    }
    /** JSON-RPC errors for the refused messages that have an id. */
    const answers: JsonRpcErrorResponse[] = [];
    const toDecide: Array<{ m: JsonRpcMessage; call: CallDescription }> = [];
    const refused = new Set<JsonRpcMessage>();
    /** The first refusal, for the HTTP answer when only notifications were refused. */
    let first: JsonRpcErrorResponse | undefined;
    const refuse = (m: JsonRpcMessage, rpcCode: number, message: string, code: DenyCode, call: CallDescription) => {
      const d = refusal(state, buildInput(state.agent, facts, call), code);
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
      else if (view.action === 'tool:call' && changedTools.has(upstream.name, String(view.context.tool))) {
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
    const inputs = toDecide.map(({ call }) => buildInput(state.agent, facts, call));
    let decisions: AuthorizeResponse[];
    try {
      decisions = await Promise.all(
        inputs.map((input) =>
          decideWithin(
            deps.decisionPoint,
            input,
            { caller: { kind: 'proxy', subject: state.agent }, audit: false, explain: 'reasons' },
            config.decision.timeoutMs,
          ),
        ),
      );
    } catch (err) {
      for (const input of inputs) {
        metrics.decisions.inc({ upstream: upstream.name, outcome: 'unavailable' });
        state.decisions.push({
          input,
          answer: {
            decision_id: randomUUID(),
            policy_version: 'unavailable',
            result: unavailableResult(err instanceof ArgusError ? err.message : 'decision point failed'),
          },
          latencyMs: performance.now() - t0,
          forwarded: false,
        });
      }
      state.lazyLog().warn({ upstream: upstream.name, err: errorSummary(err) }, 'decision unavailable; failing closed');
      finish(state, { status: undefined, error: 'decision_unavailable' });
      sendJson(res, 503, { code: 'unavailable', message: 'decision point unavailable; call refused', errors: [] });
      return true;
    }
    const latencyMs = performance.now() - t0;
    if (inputs.length > 0) metrics.decisionLatency.observe({ upstream: upstream.name }, latencyMs / 1000);
    toDecide.forEach(({ m }, i) => {
      const answer = decisions[i]!;
      const allowed = isAllowed(answer);
      metrics.decisions.inc({
        upstream: upstream.name,
        outcome: allowed ? 'allow' : answer.result.decision === 'needs_approval' ? 'needs_approval' : 'deny',
      });
      state.decisions.push({ input: inputs[i]!, answer, latencyMs, forwarded: allowed });
      if (!allowed) {
        const denied = deniedResponse(m.id ?? null, answer, config.denyDetail);
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
      ...(lists.size > 0 ? { lists: { requests: lists, ctx: listFilter(upstream, facts, state) } } : {}),
    };
    if (forward.length === 0) {
      // Only refused messages. With ids, their errors (HTTP 200, as a server answers them); only
      // notifications: an HTTP error, as streamable HTTP wants for input it does not accept.
      if (answers.length > 0) sendJson(res, 200, parsed.batch ? answers : answers[0]);
      else sendJson(res, 403, first);
      finish(state, { status: undefined, error: 'denied' });
      return true;
    }
    if (refused.size > 0) state.body = Buffer.from(JSON.stringify(parsed.batch ? forward : forward[0]));
    return false;
  }

  /**
   * How the lists of an MCP answer are filtered for this call: each item decided as a what-if with
   * the list request's facts (no side effect, no record); tools compared with the registry; a tool
   * refused as changed recorded as a refusal of the call.
   */
  function listFilter(upstream: UpstreamConfig, facts: Facts, state: CallState): ListFilterContext {
    return {
      server: upstream.name,
      inputFor: (call) => buildInput(state.agent, facts, call),
      decideWhatIf: (inputs) =>
        decideWhatIfs(
          deps.decisionPoint,
          inputs,
          { caller: { kind: 'proxy', subject: state.agent }, explain: 'reasons' },
          config.decision.timeoutMs,
        ),
      ...(deps.tools ? { catalogue: deps.tools } : {}),
      changed: changedTools,
      onChanged: (input, code) => {
        if (!state.done) refusal(state, input, code);
      },
      onRefused: (list, err) => {
        metrics.upstreamErrors.inc({ upstream: upstream.name, kind: 'list' });
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

  /** Strips nothing here (done before), injects the credential, re-sends the body, arms the timers. */
  function onProxyReq(proxyReq: ClientRequest, req: IncomingMessage): void {
    const state = states.get(req);
    if (!state) {
      proxyReq.destroy(new Error('no decision for this request'));
      return;
    }
    if (state.inFlight) state.inFlight.upstreamReq = proxyReq;
    if (state.credential && state.injection) injectCredential(proxyReq, state.injection, state.credential.value);
    const { connectMs, idleMs, totalMs } = state.upstream.timeouts;
    const fail = (kind: string) => {
      const err = new Error(`upstream ${kind} timeout`) as Error & { code: string };
      err.code = `ARGUS_${kind.toUpperCase()}_TIMEOUT`;
      proxyReq.destroy(err);
    };
    const socket = proxyReq.socket;
    if (socket && socket.connecting) {
      const t = setTimeout(() => fail('connect'), connectMs);
      state.timers.push(t);
      socket.once('connect', () => clearTimeout(t));
    }
    proxyReq.setTimeout(idleMs, () => fail('idle'));
    state.timers.push(setTimeout(() => fail('total'), totalMs));
    if (state.body) {
      proxyReq.setHeader('content-length', state.body.length);
      proxyReq.write(state.body);
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      proxyReq.setHeader('content-length', 0);
    }
  }

  /** Streams (or, for small JSON, buffers) the upstream answer back through the scrubber. */
  function onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const state = states.get(req);
    if (!state) {
      proxyRes.destroy();
      res.destroy();
      return;
    }
    const status = proxyRes.statusCode ?? 502;
    state.status = status;
    if (state.inFlight) state.inFlight.upstreamRes = proxyRes;
    metrics.upstreamLatency.observe(
      { upstream: state.upstream.name, status_class: `${Math.floor(status / 100)}xx` },
      (now() - (state.forwardedAt ?? state.started)) / 1000,
    );
    const type = String(proxyRes.headers['content-type'] ?? '');
    const isSse = /^text\/event-stream/i.test(type);
    const isJson = /^application\/([\w.+-]+\+)?json/i.test(type);
    const llm = state.upstream.kind === 'openai' || state.upstream.kind === 'anthropic';
    const mcp = state.mcp;

    // INVARIANT: nothing reaches the agent that the scrubber could not read. An encoding the
    // proxy cannot decode (unknown, or stacked) is refused, never passed through.
    const encoding = contentEncodingOf(proxyRes.headers['content-encoding']);
    if (!encoding.ok) {
      proxyRes.resume();
      metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'encoding' });
      state
        .lazyLog()
        .warn({ upstream: state.upstream.name, encoding: encoding.value }, 'upstream answered with an unsupported content encoding');
      sendProblem(res, state.dialect, 502, {
        code: 'upstream_error',
        message: `upstream answered with an unsupported content encoding \`${encoding.value}\``,
        errors: [],
      });
      finish(state, { status, error: 'unsupported_encoding' });
      return;
    }

    if (mcp?.initialize) {
      const sid = proxyRes.headers['mcp-session-id'];
      if (typeof sid === 'string') mcpSessions.set(sid, state.agent);
    }
    if (mcp?.endsSession !== undefined && status >= 200 && status < 300) mcpSessions.delete(mcp.endsSession);

    const length = Number(proxyRes.headers['content-length']);
    const limit = config.limits.maxBufferedResponseBytes;
    const mergeDenied = mcp !== undefined && mcp.denied.length > 0;
    // INVARIANT: with a redact or max_items obligation, an answer goes back rewritten or not at
    // all: JSON is rewritten whole, MCP event streams event by event, anything else is refused.
    const obligations = rewritesBody(state.obligations) ? state.obligations : undefined;
    const bodyless = status === 204 || status === 304 || req.method === 'HEAD' || length === 0;
    // INVARIANT: an answer that may hold an MCP list goes back filtered or not at all.
    const lists = mcp?.lists;
    if (lists && lists.requests.size > 0 && !bodyless && !isJson && !isSse) {
      proxyRes.resume();
      metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'list' });
      sendProblem(res, state.dialect, 502, {
        code: 'upstream_error',
        message: `the answer (\`${type.split(';', 1)[0]!.slice(0, 64)}\`) cannot be read to filter its list`,
        errors: [],
      });
      finish(state, { status, error: 'upstream_error' });
      return;
    }
    if (obligations && !bodyless && !isJson && !(isSse && mcp)) {
      proxyRes.resume();
      metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: 'obligation' });
      sendProblem(res, state.dialect, 502, {
        code: 'upstream_error',
        message: `the answer (\`${type.split(';', 1)[0]!.slice(0, 64)}\`) cannot be rewritten to apply the policy's obligations`,
        errors: [],
        codes: ['obligation_unenforceable'],
      });
      finish(state, { status, error: 'obligation_unenforceable' });
      return;
    }
    if (state.obligations && (obligations || !state.obligations.logValues))
      res.setHeader(OBLIGATIONS_HEADER, obligationsHeader(state.obligations));

    const decoder = encoding.decoder?.();
    const source: Readable = decoder ? proxyRes.pipe(decoder) : proxyRes;
    if (decoder) proxyRes.on('error', (err) => decoder.destroy(err));

    // Some messages of an MCP POST were refused but the upstream had nothing to say: answer them.
    if (mergeDenied && (status === 202 || status === 204)) {
      proxyRes.resume();
      const headers = scrubber.scrubHeaders(responseHeaders(proxyRes.headers, { dropLength: true }));
      delete headers['content-type'];
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(mcp.batch ? mcp.denied : mcp.denied[0]));
      finish(state, { status, error: undefined });
      return;
    }

    if (!isSse && isJson && ((Number.isFinite(length) && length <= limit && !decoder) || mergeDenied || obligations || lists)) {
      const chunks: Buffer[] = [];
      let size = 0;
      source.on('data', (c: Buffer) => {
        size += c.length;
        if (size > Math.max(limit, 1 << 20) * 4) source.destroy(new Error('response too large to merge'));
        else chunks.push(c);
      });
      source.on('error', (err) => onProxyError(err, req, res));
      source.on(
        'end',
        () =>
          void (async () => {
            let body: Buffer = Buffer.concat(chunks);
            if (llm || mergeDenied || obligations || lists) {
              try {
                let doc: unknown = JSON.parse(body.toString('utf8'));
                if (llm) state.usage = finalizeUsage(usageFromObject(doc));
                if (lists) doc = (await filterListAnswers(doc, lists.requests, lists.ctx)).doc;
                if (obligations) {
                  const rewritten = applyToAnswer(doc, obligations);
                  doc = rewritten.doc;
                  state.applied = rewritten.applied;
                }
                if (mergeDenied && mcp) {
                  const merged = [...mcp.denied, ...(Array.isArray(doc) ? doc : [doc])];
                  body = Buffer.from(JSON.stringify(mcp.batch ? merged : merged[0]));
                } else if (obligations || lists) {
                  body = Buffer.from(JSON.stringify(doc));
                }
              } catch {
                if (obligations || lists) {
                  // Declared JSON that is not: it cannot be rewritten (nor its list filtered), so it does not go back.
                  metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind: obligations ? 'obligation' : 'list' });
                  const why = obligations ? "the policy's obligations cannot be applied" : 'its list cannot be filtered';
                  sendProblem(res, state.dialect, 502, {
                    code: 'upstream_error',
                    message: `the answer is not valid JSON: ${why}`,
                    errors: [],
                    ...(obligations ? { codes: ['obligation_unenforceable' as const] } : {}),
                  });
                  finish(state, { status, error: obligations ? 'obligation_unenforceable' : 'upstream_error' });
                  return;
                }
                // Not JSON after all: forwarded as it is (scrubbed).
              }
            }
            body = scrubber.scrubBuffer(body);
            const headers = scrubber.scrubHeaders(responseHeaders(proxyRes.headers, { dropLength: true }));
            res.writeHead(status, { ...headers, 'content-length': body.length });
            res.end(body);
            finish(state, { status, error: undefined });
          })().catch((err: unknown) => onProxyError(err as Error, req, res)),
      );
      return;
    }

    const headers = scrubber.scrubHeaders(responseHeaders(proxyRes.headers, { dropLength: true }));
    if (isSse) {
      headers['x-accel-buffering'] = 'no';
      headers['cache-control'] ??= 'no-cache';
    }
    res.writeHead(status, headers);
    if (isSse) {
      res.flushHeaders();
      if (mergeDenied && mcp) res.write(scrubber.scrubBuffer(Buffer.from(sseEvents(mcp.denied))));
    }
    const observer = llm && isSse ? new SseUsageObserver() : undefined;
    const jsonTail: Buffer[] = [];
    let jsonSize = 0;
    if (observer) source.on('data', (c: Buffer) => observer.push(c));
    else if (llm && isJson) {
      source.on('data', (c: Buffer) => {
        jsonSize += c.length;
        if (jsonSize <= limit) jsonTail.push(c);
      });
    }
    const scrub: Transform = scrubber.stream();
    // A shutdown cutting this stream stops the upstream's bytes before it writes the final event.
    if (isSse && state.inFlight) state.inFlight.cut = () => scrub.unpipe(res);
    const rewriter = obligations && isSse ? new SseRewriter(obligations, Math.max(limit, 1 << 20) * 4) : undefined;
    const done = (err: Error | null) => {
      if (rewriter) state.applied = rewriter.total;
      if (observer) state.usage = observer.usage();
      else if (llm && isJson && jsonSize <= limit && jsonSize > 0) {
        try {
          state.usage = finalizeUsage(usageFromObject(JSON.parse(Buffer.concat(jsonTail).toString('utf8'))));
        } catch {
          // Not JSON: no usage.
        }
      }
      if (err) {
        const kind = errorKind(err);
        if (kind !== 'client_closed') metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind });
        finish(state, { status, error: kind });
      } else {
        finish(state, { status, error: undefined });
      }
    };
    const listed = lists && isSse ? new SseListFilter(lists.requests, lists.ctx, Math.max(limit, 1 << 20) * 4) : undefined;
    const stages: Transform[] = [...(listed ? [listed] : []), ...(rewriter ? [rewriter] : [])];
    pipeline([source, ...stages, scrub, res], done);
  }

  /** An upstream that cannot be reached or timed out: 502/504 before any byte was sent, else a cut. */
  function onProxyError(err: Error, req: IncomingMessage, res: ServerResponse): void {
    const state = states.get(req);
    // An aborted call was answered and recorded by `abortCall`; dropping its upstream is not news.
    if (state?.inFlight?.aborted) return;
    const kind = errorKind(err);
    if (state && !state.done) {
      if (kind !== 'client_closed') metrics.upstreamErrors.inc({ upstream: state.upstream.name, kind });
      state.lazyLog().warn({ upstream: state.upstream.name, kind, err: scrubber.scrubDeep(errorSummary(err)) }, 'upstream call failed');
    }
    if (res && typeof res.writeHead === 'function' && !res.headersSent) {
      const timeout = kind === 'timeout';
      sendProblem(res, state?.dialect ?? 'argus', timeout ? 504 : 502, {
        code: timeout ? 'timeout' : 'upstream_error',
        message: timeout ? 'upstream did not answer in time' : 'upstream unreachable',
        errors: [],
      });
    } else if (res && typeof res.destroy === 'function') {
      res.destroy();
    }
    if (state) finish(state, { status: state.status, error: kind });
  }

  /**
   * The USD cost of a model call: the model the provider says answered (else the one decided on)
   * at its price. A model with no price is charged nothing, warned about once and counted.
   */
  function costOfCall(state: CallState, usage: TokenUsage): number | undefined {
    const decided = state.decisions.find((d) => d.forwarded && d.input.resource.type === 'Model')?.input.resource.id;
    const model = usage.model ?? decided;
    if (model === undefined) return undefined;
    const priced = prices.cost(model, usage);
    if (priced) return priced.costUsd;
    metrics.unpricedCalls.inc({ upstream: state.upstream.name });
    if (!unpriced.has(model)) {
      unpriced.set(model, true);
      state
        .lazyLog()
        .warn(
          { upstream: state.upstream.name, model: model.slice(0, 256) },
          'model has no price: no cost charged (set proxy.prices.models or proxy.prices.unknownModel)',
        );
    }
    return undefined;
  }

  /** Writes the audit record(s) and the usage report once per call. */
  function finish(state: CallState, outcome: { status: number | undefined; error: string | undefined }): void {
    if (state.done) return;
    state.done = true;
    inFlight.delete(state);
    for (const t of state.timers) clearTimeout(t);
    const usage = state.usage;
    const costUsd = usage ? costOfCall(state, usage) : undefined;
    const recorded = usage ? recordedUsage(usage, costUsd) : undefined;
    const proxyOutcome = (d: Decided): ProxyOutcome => ({
      upstream: state.upstream.name,
      ...(d.forwarded && outcome.status !== undefined ? { status: outcome.status } : {}),
      ...(d.forwarded && state.credential ? { credentialName: state.credential.name } : {}),
      ...(d.forwarded && recorded ? { usage: recorded } : {}),
      ...(!d.forwarded
        ? {
            error:
              d.answer.policy_version === 'unavailable'
                ? 'decision_unavailable'
                : d.answer.policy_version === REFUSED_BY_PROXY
                  ? 'refused'
                  : 'denied',
          }
        : outcome.error !== undefined
          ? { error: outcome.error }
          : {}),
    });
    const time = new Date(state.started).toISOString();
    const valueFree = state.obligations?.logValues === false;
    for (const d of state.decisions) {
      const event: DecisionEvent = {
        decisionId: d.answer.decision_id,
        time,
        caller: state.anonymous ? { kind: 'proxy' } : { kind: 'proxy', subject: state.agent },
        // `log_values: false`: the record keeps which facts there were, not their values.
        input: valueFree ? withheld(d.input) : d.input,
        result: d.answer.result,
        policyVersion: d.answer.policy_version,
        latencyMs: Math.round(d.latencyMs * 1000) / 1000,
        proxy: proxyOutcome(d),
      };
      deps.recorder.record(scrubber.scrubDeep(event)).catch((err: unknown) => {
        metrics.sinkFailures.inc({ sink: 'audit' });
        state.lazyLog().error({ err: errorSummary(err), decisionId: event.decisionId }, 'audit record failed');
      });
    }
    const forwarded = state.decisions.find((d) => d.forwarded);
    if (state.goal !== undefined && usage?.totalTokens !== undefined && forwarded) {
      deps.usage
        .reportUsage({
          goal: state.goal,
          agent: state.agent,
          tokens: usage.totalTokens,
          ...(costUsd !== undefined ? { costUsd } : {}),
          decisionId: forwarded.answer.decision_id,
        })
        .catch((err: unknown) => {
          metrics.sinkFailures.inc({ sink: 'usage' });
          state.lazyLog().error({ err: errorSummary(err), goal: state.goal }, 'usage report failed');
        });
    }
    if (deps.logger.isLevelEnabled('info'))
      state.lazyLog().info(
        {
          upstream: state.upstream.name,
          agent: state.agent,
          decisionIds: state.decisions.map((d) => d.answer.decision_id),
          outcome: state.decisions.length === 0 ? 'pass' : state.decisions.every((d) => d.forwarded) ? 'allow' : 'deny',
          status: outcome.status,
          error: outcome.error,
          credentialName: state.credential?.name,
          usage: recorded,
          ...(state.applied ? { obligations: { redacted: state.applied.redacted, truncated: state.applied.truncated.length } } : {}),
          ms: now() - state.started,
        },
        'proxied call',
      );
  }
}

/** The usage an audit record keeps: the token counts and the cost charged. */
function recordedUsage(usage: TokenUsage, costUsd: number | undefined): NonNullable<ProxyOutcome['usage']> {
  return {
    ...(usage.inputTokens !== undefined ? { inputTokens: usage.inputTokens } : {}),
    ...(usage.outputTokens !== undefined ? { outputTokens: usage.outputTokens } : {}),
    ...(usage.totalTokens !== undefined ? { totalTokens: usage.totalTokens } : {}),
    ...(costUsd !== undefined ? { costUsd } : {}),
  };
}

/** The decision facts an agent declares in headers. */
interface Facts {
  intent?: string;
  goal?: string;
  delegation?: EntityRef[];
  delegationToken?: string;
}

function readFacts(req: IncomingMessage, identity: AgentIdentity): Facts {
  const facts: Facts = {};
  const intent = header(req, ARGUS_HEADERS.intent);
  const goal = header(req, ARGUS_HEADERS.goal);
  const delegation = header(req, ARGUS_HEADERS.delegation);
  const token = header(req, ARGUS_HEADERS.delegationToken);
  if (intent !== undefined) {
    if (!SAFE_ID.test(intent))
      throw new InvalidInputError('invalid intent header', [
        { path: `/headers/${ARGUS_HEADERS.intent}`, message: 'must match ^[\\w.:@/-]{1,256}$' },
      ]);
    facts.intent = intent;
  }
  if (goal !== undefined) {
    if (!SAFE_ID.test(goal))
      throw new InvalidInputError('invalid goal header', [
        { path: `/headers/${ARGUS_HEADERS.goal}`, message: 'must match ^[\\w.:@/-]{1,256}$' },
      ]);
    facts.goal = goal;
  }
  if (delegation !== undefined) {
    const hops = delegation.split(',');
    if (hops.length > 16)
      throw new InvalidInputError('delegation chain too long', [
        { path: `/headers/${ARGUS_HEADERS.delegation}`, message: 'at most 16 hops' },
      ]);
    facts.delegation = hops.map((hop, i) => {
      const m = DELEGATION_HOP.exec(hop);
      if (!m)
        throw new InvalidInputError('invalid delegation header', [
          { path: `/headers/${ARGUS_HEADERS.delegation}/${i}`, message: 'each hop must be `Type::id`' },
        ]);
      return { type: m[1]!, id: m[2] ?? m[3]! };
    });
    const last = facts.delegation[facts.delegation.length - 1];
    if (!last || last.type !== 'Agent' || last.id !== identity.agent) {
      throw new InvalidInputError('delegation chain must end at the calling agent', [
        { path: `/headers/${ARGUS_HEADERS.delegation}`, message: `last hop must be Agent::${identity.agent}` },
      ]);
    }
  }
  if (token !== undefined) {
    if (token.length > 16_384)
      throw new InvalidInputError('delegation token too long', [
        { path: `/headers/${ARGUS_HEADERS.delegationToken}`, message: 'at most 16384 characters' },
      ]);
    facts.delegationToken = token;
  }
  return facts;
}

function buildInput(agent: string, facts: Facts, call: CallDescription): AuthorizeInput {
  if (call.sessionTraffic) facts = { ...facts, intent: undefined, goal: undefined };
  return {
    principal: { type: 'Agent', id: agent },
    action: call.action,
    resource: call.resource,
    ...(facts.intent !== undefined ? { intent: facts.intent } : {}),
    ...(facts.goal !== undefined ? { goal: facts.goal } : {}),
    ...(facts.delegation !== undefined ? { delegation: facts.delegation } : {}),
    ...(facts.delegationToken !== undefined ? { delegationToken: facts.delegationToken } : {}),
    context: call.context,
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

/** `input` with every context value replaced (the names stay): for `log_values: false`. */
function withheld(input: AuthorizeInput): AuthorizeInput {
  if (!input.context) return input;
  return { ...input, context: Object.fromEntries(Object.keys(input.context).map((k) => [k, '[withheld]'])) };
}

/** The content encodings the scrubber can read through: one of these, or none. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The decoder for a response's `Content-Encoding`: none for no encoding (or `identity`), one for
 * gzip, deflate or br; anything else (unknown, or several stacked) is not ok.
 */
function contentEncodingOf(header: string | string[] | undefined): { ok: true; decoder?: () => Transform } | { ok: false; value: string } {
  const raw = (Array.isArray(header) ? header.join(',') : String(header ?? '')).trim().toLowerCase();
  if (raw === '' || raw === 'identity') return { ok: true };
  const decoder = DECODERS[raw];
  return decoder ? { ok: true, decoder } : { ok: false, value: raw.replace(/[^\w ,.+-]/g, '').slice(0, 64) };
}

function errorKind(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    if (code.endsWith('_TIMEOUT') || code === 'ETIMEDOUT') return 'timeout';
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') return 'connect';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'client_closed';
  }
  return 'other';
}

/** The route whose prefix `url` starts with (a whole segment, any case), if any. */
function routeOf(routes: readonly Route[], url: string): Route | undefined {
  for (const r of routes) {
    const n = r.prefix.length;
    if (url.length < n || url.slice(0, n).toLowerCase() !== r.prefix) continue;
    const next = url.charCodeAt(n);
    // End of the URL, `/` or `?`: the prefix is a whole segment.
    if (Number.isNaN(next) || next === 47 || next === 63) return r;
  }
  return undefined;
}
