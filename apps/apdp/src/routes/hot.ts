import type { IncomingMessage, ServerResponse } from 'node:http';
import { leanJsonReadable, readJsonBody, requestIdOf, sendError, type Authenticator, type BodyLimits } from '@argus/platform';
import type { Logger } from 'pino';
import type { DecisionService } from '../decision-service.ts';
import { authorizeOne } from './authorize.ts';
import { answerData } from './data.ts';

/**
 * The hot decision routes one step earlier, for the server itself: `POST /v1/authorize` and the
 * OPA Data API (`POST /v1/data/...`) are answered straight from `node:http` (request id, limits,
 * errors as everywhere else) without entering the framework at all; every other request, and any
 * body the lean reader does not take, goes to `app`.
 */
export function decisionListener(deps: { decisions: DecisionService; auth?: Authenticator; limits: BodyLimits; logger: Logger }, app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const answer = req.method === 'POST' && leanJsonReadable(req) ? hotRoute(deps, req) : undefined;
    if (!answer) return app(req, res);
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    readJsonBody(req, deps.limits)
      .then((raw) => answer(raw, res))
      .catch((err: unknown) => sendError(res, err, deps.logger.child({ requestId })));
  };
}

/** The handler of a hot route for `req`, if it is one. */
function hotRoute(deps: { decisions: DecisionService; auth?: Authenticator }, req: IncomingMessage): ((raw: unknown, res: ServerResponse) => Promise<void>) | undefined {
  const url = req.url ?? '';
  if (url === '/v1/authorize') return (raw, res) => authorizeOne(deps, raw, req, res);
  if (!url.startsWith(DATA_PREFIX)) return undefined;
  const q = url.indexOf('?');
  let path: string;
  try {
    path = decodeURIComponent(url.slice(DATA_PREFIX.length, q < 0 ? undefined : q));
  } catch {
    return undefined;
  }
  const explainFull = q >= 0 && new URLSearchParams(url.slice(q + 1)).get('explain') === 'full';
  return (raw, res) => answerData(deps, raw, path, explainFull, req, res);
}

const DATA_PREFIX = '/v1/data/';
