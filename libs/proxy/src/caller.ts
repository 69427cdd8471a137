/** Identifying the caller: the agent its credential proves, and the facts it declares in headers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@argus/platform';
import { sendProblem } from './answers.ts';
import type { Seen } from './call.ts';
import type { ProxyContext } from './context.ts';
import { readFacts, type Facts } from './facts.ts';
import type { AgentIdentity } from './identity.ts';
import { recordFailure } from './record.ts';
import type { Route } from './routing.ts';

/** The authenticated caller of a call. */
export interface Caller {
  identity: AgentIdentity;
  facts: Facts;
}

/**
 * The caller of `req`; none (answered 401 and recorded) without a valid agent credential. Throws
 * `InvalidInputError` for a malformed Argus header (recorded under the agent by the caller).
 */
export async function identifyCaller(
  ctx: ProxyContext,
  route: Route,
  req: IncomingMessage,
  res: ServerResponse,
  log: () => Logger,
  seen: Seen,
): Promise<Caller | undefined> {
  const identity = await ctx.deps.authenticate(req);
  if (!identity) {
    recordFailure(ctx, route, req, seen, undefined, log, 'unauthenticated');
    res.setHeader('www-authenticate', 'Bearer realm="argus"');
    sendProblem(res, route.dialect, 401, { code: 'unauthorized', message: 'missing or invalid agent credential', errors: [] });
    return undefined;
  }
  seen.agent = identity.agent;
  return { identity, facts: readFacts(req, identity) };
}
