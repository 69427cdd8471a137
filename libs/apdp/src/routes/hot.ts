import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  admit,
  BEARER_CHALLENGE,
  charsetError,
  leanJsonReadable,
  malformedEscape,
  mediaTypeError,
  readJsonBody,
  requestIdOf,
  sendError,
  type Admission,
  type AdmitOptions,
  type BodyLimits,
} from '@argus/platform';
import type { Logger } from 'pino';
import type { DecisionService } from '@argus/decision';
import { authorizeOne, callerChecked, setCaller } from './authorize.ts';
import { answerData, answerHealth, dataRouteOf, DEFAULT_DECISION_PATH, readDataBody, sendDataError, type DataDeps } from './data.ts';

/** What the lean listener needs: the decision service, the permission check, limits and a logger. */
export interface HotDeps {
  decisions: DecisionService;
  /** The permission table's admission (authenticator, `auth.decisions` mode); absent: no table (tests, embeddings). */
  admission?: AdmitOptions;
  limits: BodyLimits;
  logger: Logger;
  /** The document `POST /` answers (OPA's default decision); default `argus/allow`. */
  defaultDecision?: string;
}

/**
 * The hot decision routes one step earlier, for the server itself: `POST /v1/authorize` and the
 * OPA Data API (`POST /v1/data/...`) are answered straight from `node:http` (request id, the
 * permission table, limits, errors as everywhere else) without entering the framework at all;
 * every other request, and any encoded body, goes to `app` (which applies the same table).
 */
export function decisionListener(
  deps: HotDeps,
  app: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const checked = callerChecked(deps.decisions);
  const data: DataDeps = { decisions: checked, ...(deps.defaultDecision ? { defaultDecision: deps.defaultDecision } : {}) };
  return (req, res) => {
    const malformed = malformedEscape(req.url ?? '/');
    if (malformed) {
      // Answered before any route decodes the path (a URIError would be a 500).
      req.resume();
      return sendError(res, malformed, deps.logger);
    }
    const dataRoute = dataRouteOf(req.method, req.url ?? '/');
    if (dataRoute && !encoded(req)) return serveData(deps, data, dataRoute, req, res);
    const answer = req.method === 'POST' ? hotRoute(checked, req) : undefined;
    if (!answer || !encodingReadable(req)) return app(req, res);
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const fail = (err: unknown) => sendError(res, err, deps.logger.child({ requestId }));
    const path = pathOf(req.url ?? '/');
    const admitted = deps.admission ? admit(deps.admission, 'POST', path, req.headers.authorization) : Promise.resolve(unguarded(path));
    admitted
      .then(async (admission) => {
        if (admission && !admission.ok) {
          if (admission.challenge) res.setHeader('www-authenticate', BEARER_CHALLENGE);
          req.resume();
          throw admission.error;
        }
        const refused = mediaTypeError(req.headers['content-type']);
        if (refused) {
          req.resume();
          throw refused;
        }
        if (deps.admission) setCaller(req, admission?.principal);
        await answer(await readJsonBody(req, deps.limits), res);
      })
      .catch(fail);
  };
}

function encodingReadable(req: IncomingMessage): boolean {
  // A body with a content encoding is decoded by the app's body parser; a media type the lean
  // reader refuses is answered here (415) after the credential is checked.
  return leanJsonReadable(req) || mediaTypeError(req.headers['content-type']) !== undefined;
}

/** Without a table, only the path's escapes are checked. */
function unguarded(path: string): Admission | undefined {
  const bad = malformedEscape(path);
  return bad ? { ok: false, error: bad, challenge: false } : undefined;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The handler of a hot route for `req`, if it is one. */
function hotRoute(decisions: DecisionService, req: IncomingMessage): ((raw: unknown, res: ServerResponse) => Promise<void>) | undefined {
  const url = req.url ?? '';
  if (url === '/v1/authorize') return (raw, res) => authorizeOne({ decisions }, raw, req, res);
  return undefined;
}

function encoded(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  return encoding !== undefined && encoding.toLowerCase() !== 'identity';
}

/**
 * The OPA Data API on the listener (`GET|POST /v1/data/...`, `POST /`, `GET /health`): the
 * permission table, then a lenient body read (JSON whatever the declared type, unless clearly
 * another format), then `answerData`; errors in OPA's shape (items with `code`).
 */
function serveData(
  deps: HotDeps,
  data: DataDeps,
  route: NonNullable<ReturnType<typeof dataRouteOf>>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const requestId = requestIdOf(req);
  res.setHeader('x-request-id', requestId);
  const log = deps.logger.child({ requestId });
  const pretty = route.query.has('pretty') && route.query.get('pretty') !== 'false';
  const method = req.method === 'POST' ? 'POST' : 'GET';
  const path = pathOf(req.url ?? '/');
  const admitted = deps.admission ? admit(deps.admission, method, path, req.headers.authorization) : Promise.resolve(unguarded(path));
  admitted
    .then(async (admission) => {
      if (admission && !admission.ok) {
        if (admission.challenge) res.setHeader('www-authenticate', BEARER_CHALLENGE);
        req.resume();
        throw admission.error;
      }
      if (deps.admission) setCaller(req, admission?.principal);
      const charset = charsetError(req.headers['content-type']);
      if (charset) {
        req.resume();
        throw charset;
      }
      if (route.kind === 'health') {
        req.resume();
        return answerHealth(data, route.query, res);
      }
      // INVARIANT: a malformed escape never reaches the route's decode: the admission answers it with a 400 first.
      const body = method === 'POST' ? await readDataBody(req, deps.limits) : (req.resume(), undefined);
      const documentPath = route.kind === 'default' ? (data.defaultDecision ?? DEFAULT_DECISION_PATH) : route.path;
      await answerData(
        data,
        { method, path: documentPath, query: route.query, body, ...(route.kind === 'default' ? { defaultDecision: true } : {}) },
        req,
        res,
        log,
      );
    })
    .catch((err: unknown) => sendDataError(res, err, pretty, log));
}
