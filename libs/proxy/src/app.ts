import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazyRequestLog, requestIdOf, type DrainHooks, type Logger } from '@argus/platform';
import { sendFailure } from './answers.ts';
import type { CallState, Seen } from './call.ts';
import { identifyCaller } from './caller.ts';
import { createProxyContext, type ProxyContext, type ProxyDeps } from './context.ts';
import { decideHttpCall } from './decide.ts';
import { cutAgent, cutStopped, drainHooks } from './drain.ts';
import { acceptObligations } from './enforce-obligations.ts';
import { forward } from './forward.ts';
import { resolveCredential } from './inject-credential.ts';
import { decideMcpCall } from './mcp-guard.ts';
import { recordFailure } from './record.ts';
import { createRoutes, matchRoute, readBody, upstreamPathOf, type Route } from './routing.ts';

export type { ProxyDeps } from './context.ts';
export { ARGUS_HEADERS } from './facts.ts';

/**
 * The proxy as a request listener: give it to `http.createServer`, or mount it in express. `drain`
 * is for the shutdown (`Shutdown.addServer(..., { drain })`): the calls in flight, and aborting them.
 */
export type ProxyApp = ((req: IncomingMessage, res: ServerResponse) => void) & { drain: Required<DrainHooks> };

/**
 * Builds the enforcement proxy: one route per configured upstream, each one authenticating the
 * agent, deciding the call, injecting the real credential and forwarding with
 * http-proxy-middleware. Unknown paths answer 404; nothing is ever routed by `Host`. The hot path
 * is plain `node:http` (no framework between the socket and the decision).
 *
 * A call's path, one module per step: match its route (`routing.ts`) → identify its caller
 * (`caller.ts`) → decide it (`decide.ts`, `mcp-guard.ts`) → take on its obligations
 * (`enforce-obligations.ts`) → resolve its credential (`inject-credential.ts`) → forward it
 * (`forward.ts`) → stream the answer back (`streaming.ts`) → count its usage (`charge.ts`) → audit
 * it (`record.ts`). A step that answers the call has recorded it.
 */
export function createProxyApp(deps: ProxyDeps): ProxyApp {
  const ctx = createProxyContext(deps);
  const routes = createRoutes(ctx);
  // A stop reaches the calls already running (a stream, a long tool call), not only the next ones.
  const switches = deps.switches;
  if (switches) switches.onRead(() => cutStopped(ctx, switches));
  deps.agents?.onChange((change) => cutAgent(ctx, change));
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const log = lazyRequestLog(deps.logger, requestId);
    const route = matchRoute(routes, req, res);
    if (!route) return;
    const seen: Seen = { started: ctx.now() };
    handle(ctx, route, req, res, log, seen).catch((err: unknown) => {
      recordFailure(ctx, route, req, seen, err, log);
      sendFailure(res, route.dialect, err, log());
    });
  };
  return Object.assign(listener, { drain: drainHooks(ctx) });
}

/**
 * One call, from its body to the hand-over to the upstream. INVARIANT: nothing is forwarded that
 * was not decided, its obligations accepted and its credential resolved; every step that refuses
 * has answered and recorded the call, and anything thrown is recorded by the listener.
 */
async function handle(
  ctx: ProxyContext,
  route: Route,
  req: IncomingMessage,
  res: ServerResponse,
  log: () => Logger,
  seen: Seen,
): Promise<void> {
  const path = upstreamPathOf(req);
  const caller = await identifyCaller(ctx, route, req, res, log, seen);
  if (!caller) return;
  // Read once the caller is known: an unauthenticated client's body is never buffered or decoded,
  // and a body that cannot be read is recorded under the agent that sent it.
  const received = await readBody(route, req, res);
  const state = openCall(route, caller.identity.agent, caller.facts.goal, received, log, seen);
  const decide = route.upstream.kind === 'mcp' ? decideMcpCall : decideHttpCall;
  if ((await decide(ctx, route, req, path, caller, state, res)) === 'answered') return;
  if (acceptObligations(ctx, state, res) === 'answered') return;
  await resolveCredential(ctx, route, state);
  await forward(ctx, route, req, res, state);
}

/** The state of an identified caller's call (an empty body is none), known to `seen` from now on. */
function openCall(
  route: Route,
  agent: string,
  goal: string | undefined,
  received: Buffer | undefined,
  log: () => Logger,
  seen: Seen,
): CallState {
  const body = received && received.length > 0 ? received : undefined;
  const state: CallState = {
    upstream: route.upstream,
    dialect: route.dialect,
    agent,
    decisions: [],
    started: seen.started,
    timers: [],
    done: false,
    lazyLog: log,
  };
  if (goal !== undefined) state.goal = goal;
  if (body) state.body = body;
  seen.state = state;
  return state;
}
