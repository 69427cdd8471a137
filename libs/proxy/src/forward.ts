/**
 * Forwarding a decided call with http-proxy-middleware: the agent's headers cleaned, the real
 * credential written, the (possibly rewritten) body re-sent, the upstream timeouts armed.
 */
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { parse as parseUrl } from 'node:url';
import { createProxyMiddleware, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import { sendFailure } from './answers.ts';
import type { CallState } from './call.ts';
import type { UpstreamConfig } from './config.ts';
import type { ProxyContext } from './context.ts';
import { sanitizeRequestHeaders } from './headers.ts';
import { injectCredential } from './inject-credential.ts';
import { finish, journalForwarded } from './record.ts';
import { forwardedUrl, type Route } from './routing.ts';
import { onProxyRes } from './streaming.ts';
import { onProxyError } from './upstream-errors.ts';

/** The http-proxy-middleware instance of one upstream (its own keep-alive agent; answers handled by `streaming.ts`). */
export function createUpstreamProxy(ctx: ProxyContext, upstream: UpstreamConfig): ProxyHandler {
  const agent = upstream.target.startsWith('https:')
    ? new HttpsAgent({ keepAlive: true, maxSockets: Infinity })
    : new HttpAgent({ keepAlive: true, maxSockets: Infinity });
  return createProxyMiddleware<IncomingMessage, ServerResponse>({
    // Parsed once here as http-proxy parses it (legacy `url.parse`), which it would otherwise do for every call.
    target: parseUrl(upstream.target),
    changeOrigin: true,
    xfwd: false,
    followRedirects: false,
    autoRewrite: false,
    selfHandleResponse: true,
    // Only a call to the prefix itself is rewritten (`/` → ``, so it goes up to the target's path).
    pathRewrite: (_path, req) => forwardedUrl(req),
    agent,
    ejectPlugins: true,
    plugins: [
      (server) => {
        server.on('proxyReq', (proxyReq, req) => onProxyReq(ctx, proxyReq, req));
        server.on('proxyRes', (proxyRes, req, res) => onProxyRes(ctx, proxyRes, req, res));
        server.on('error', (err, req, res) => onProxyError(ctx, err, req, res as ServerResponse));
        server.on('econnreset', (err, req, res) => onProxyError(ctx, err, req, res as ServerResponse));
      },
    ],
  });
}

/**
 * Hands a decided call to its upstream: the agent's headers cleaned, the call registered in
 * flight (for the shutdown) and bound to `req` (for the proxy events), a client that goes away
 * recorded as `client_closed` and its upstream call ended.
 */
export async function forward(ctx: ProxyContext, route: Route, req: IncomingMessage, res: ServerResponse, state: CallState): Promise<void> {
  // INVARIANT: a call whose decisions are not in the journal never goes up (a crash would lose its record).
  journalForwarded(ctx, state);
  sanitizeRequestHeaders(req.headers, route.stripHeaders);
  ctx.states.set(req, state);
  state.inFlight = { res };
  ctx.inFlight.add(state);
  state.forwardedAt = ctx.now();
  res.on('close', () => {
    if (res.writableFinished) return;
    // The client left before its answer: the upstream call ends with it (else it would run, and be
    // billed, until its answer or its idle timeout).
    state.inFlight?.upstreamReq?.destroy();
    state.inFlight?.upstreamRes?.destroy();
    // INVARIANT: every path that ends the response normally calls `finish` itself.
    if (!state.done) finish(ctx, state, { status: state.status, error: 'client_closed' });
  });
  await route.proxy(req, res, (err?: unknown) =>
    sendFailure(res, route.dialect, err ?? new Error('proxy refused the request'), state.lazyLog()),
  );
}

/**
 * Strips nothing here (done before), injects the credential, re-sends the body, arms the timers.
 * INVARIANT: a request with no decided call bound to it never reaches the upstream.
 */
function onProxyReq(ctx: ProxyContext, proxyReq: ClientRequest, req: IncomingMessage): void {
  const state = ctx.states.get(req);
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
