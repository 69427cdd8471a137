/**
 * The decision API's routes, in one table (as OPA's `initRouters`): `POST /v1/authorize`,
 * `POST /v1/authorize/batch` and the OPA Data API (`GET|POST /v1/data/...`, `POST /`,
 * `GET /health`). A row names its method, its path, how its body is read and the shape its
 * errors are written in; {@link serveDecisionRoutes} serves every row the same way (request id,
 * the permission table, body limits, the row's handler, errors) on both transports: the server's
 * listener ({@link decisionListener}) answers them before the framework, and the express app
 * (`createApdp(...).app`) hands them to the same function before any of its own middleware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  admit,
  BEARER_CHALLENGE,
  authorizationOf,
  charsetError,
  jsonBody,
  lazyRequestLog,
  malformedEscape,
  mapBodyParserError,
  mediaTypeError,
  readJsonBody,
  requestIdOf,
  sendError,
  unencodedBody,
  type AdmitOptions,
  type BodyLimits,
} from '@argus/platform';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { DecisionService } from '@argus/decision';
import { authorizeBatch, authorizeOne, callerChecked, setCaller } from './authorize.ts';
import { answerData, answerHealth, clearlyNotJson, DEFAULT_DECISION_PATH, flag, sendDataError } from './data.ts';

/**
 * How a route reads its body: `json`, JSON only (another declared type is a 415); `opa`, as OPA
 * does, JSON whatever the declared type unless it is clearly another format ({@link clearlyNotJson});
 * `none`, drained unread. Every reading refuses a declared charset other than UTF-8 (415), and
 * reads a body within the limits (413, 400 for bad JSON or nesting too deep), decoding a content
 * encoding with the general body parser.
 */
export type BodyReading = 'json' | 'opa' | 'none';

/** How a route writes its errors: Argus's wire shape, or OPA's (every item with a `code`, `?pretty` applies). */
export type ErrorShape = 'argus' | 'opa';

/** What the handlers are given. */
export interface DecisionHandlerDeps {
  /** The decision service as `callerChecked` wraps it: an agent asks only about itself. */
  decisions: DecisionService;
  maxBatchSize: number;
  /** The document `POST /` answers (OPA's default decision). */
  defaultDecision: string;
}

/** One request on a decision route, as its handler sees it. */
export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** The parsed body; undefined for none or an empty one. */
  body: unknown;
  /** What the path pattern's group captured (the Data API's document path), decoded; `''` for an exact path. */
  param: string;
  query: URLSearchParams;
}

/** One row of the table. */
export interface DecisionRoute {
  /** `GET` answers `HEAD` too. */
  method: 'GET' | 'POST';
  /**
   * The exact path (a trailing slash allowed), or a pattern whose first group is the call's
   * `param`; matched on the raw path, letter case included.
   */
  path: string | RegExp;
  body: BodyReading;
  errors: ErrorShape;
  /** Answers the call; a refusal is thrown (an `ArgusError`) and written in the route's error shape. */
  handle(deps: DecisionHandlerDeps, call: RouteCall): Promise<void> | void;
}

/** The Data API's path; the pattern is the OpenAPI document's `x-express-path`. */
const DATA_PATH = /^\/v1\/data(?:\/(.*))?$/;

/** The decision routes. */
export const DECISION_ROUTES: readonly DecisionRoute[] = [
  {
    method: 'POST',
    path: '/v1/authorize',
    body: 'json',
    errors: 'argus',
    handle: (deps, call) => authorizeOne(deps, call.body, call.req, call.res),
  },
  {
    method: 'POST',
    path: '/v1/authorize/batch',
    body: 'json',
    errors: 'argus',
    handle: (deps, call) => authorizeBatch(deps, call.body, call.req, call.res),
  },
  {
    method: 'POST',
    path: DATA_PATH,
    body: 'opa',
    errors: 'opa',
    handle: (deps, call) => answerData(deps, { method: 'POST', path: call.param, query: call.query, body: call.body }, call.req, call.res),
  },
  {
    method: 'GET',
    path: DATA_PATH,
    body: 'none',
    errors: 'opa',
    handle: (deps, call) => answerData(deps, { method: 'GET', path: call.param, query: call.query, body: undefined }, call.req, call.res),
  },
  {
    method: 'POST',
    path: '/',
    body: 'opa',
    errors: 'opa',
    handle: (deps, call) =>
      answerData(
        deps,
        { method: 'POST', path: deps.defaultDecision, query: call.query, body: call.body, defaultDecision: true },
        call.req,
        call.res,
      ),
  },
  {
    method: 'GET',
    path: '/health',
    body: 'none',
    errors: 'opa',
    handle: (deps, call) => answerHealth(deps, call.query, call.res),
  },
];

/** `METHOD path` of every row, a pattern as its source (how `expressRoutes` and the OpenAPI document's `x-express-path` name it). */
export function decisionRouteList(): Array<{ method: string; path: string }> {
  return DECISION_ROUTES.map((r) => ({ method: r.method, path: typeof r.path === 'string' ? r.path : r.path.source }));
}

/** A request matched to its row. */
interface Matched {
  route: DecisionRoute;
  /** The raw path, without the query. */
  path: string;
  /** The pattern's group, still percent-encoded. */
  param: string;
  query: string;
}

/** The row for `method` and `url`, if the table has one. */
function matchRoute(method: string | undefined, url: string): Matched | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const m = method === 'HEAD' ? 'GET' : method;
  for (const route of DECISION_ROUTES) {
    if (route.method !== m) continue;
    if (typeof route.path === 'string') {
      if (path === route.path || (route.path !== '/' && path === `${route.path}/`)) return { route, path, param: '', query };
      continue;
    }
    const found = route.path.exec(path);
    if (found) return { route, path, param: found[1] ?? '', query };
  }
  return undefined;
}

/** What serving the table needs. */
export interface DecisionRoutesDeps {
  /** The decision service; the table wraps it with `callerChecked`. */
  decisions: DecisionService;
  maxBatchSize: number;
  /** The document `POST /` answers; default `argus/allow`. */
  defaultDecision?: string;
  /** The permission table's admission (authenticator, `auth.decisions` mode); absent: no table (tests, embeddings). */
  admission?: AdmitOptions;
  limits: BodyLimits;
  logger: Logger;
}

/** Serves a request if the table has its route (true); false leaves it to the caller. */
export type DecisionRoutesHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The table's server: for a request on a decision route, the request id, a malformed
 * percent-escape (400 in Argus's shape, before anything decodes the path), the permission table
 * (401 with its challenge, 403), the body as the row reads it, then the row's handler; anything
 * thrown is written in the row's error shape.
 */
export function serveDecisionRoutes(deps: DecisionRoutesDeps): DecisionRoutesHandler {
  const handlerDeps: DecisionHandlerDeps = {
    decisions: callerChecked(deps.decisions),
    maxBatchSize: deps.maxBatchSize,
    defaultDecision: deps.defaultDecision ?? DEFAULT_DECISION_PATH,
  };
  // The media type is checked before this parser runs; it decodes a content encoding (gzip, deflate, br).
  const general = jsonBody(deps.limits, () => undefined);
  return (req, res) => {
    const matched = matchRoute(req.method, req.url ?? '/');
    if (!matched) return false;
    const { route } = matched;
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const log = lazyRequestLog(deps.logger, requestId);
    const malformed = malformedEscape(matched.path);
    if (malformed) {
      req.resume();
      sendError(res, malformed, log());
      return true;
    }
    const query = new URLSearchParams(matched.query);
    const admitted = deps.admission ? admit(deps.admission, route.method, matched.path, authorizationOf(req)) : Promise.resolve(undefined);
    admitted
      .then(async (admission) => {
        if (admission && !admission.ok) {
          if (admission.challenge) res.setHeader('www-authenticate', BEARER_CHALLENGE);
          req.resume();
          throw admission.error;
        }
        if (deps.admission) setCaller(req, admission?.principal);
        const body = await readBody(route.body, req, res, deps.limits, general);
        // INVARIANT: the percent-escapes were checked above, so the decode cannot throw.
        await route.handle(handlerDeps, { req, res, body, param: decodeURIComponent(matched.param), query });
      })
      .catch((err: unknown) => {
        if (route.errors === 'opa') sendDataError(res, err, flag(query, 'pretty'), log());
        else sendError(res, err, log());
      });
    return true;
  };
}

/** Reads the body of a call as `reading` says (see {@link BodyReading}). */
async function readBody(
  reading: BodyReading,
  req: IncomingMessage,
  res: ServerResponse,
  limits: BodyLimits,
  general: RequestHandler[],
): Promise<unknown> {
  const type = req.headers['content-type'];
  const refused =
    reading === 'json' ? mediaTypeError(type) : (charsetError(type) ?? (reading === 'opa' ? clearlyNotJson(type) : undefined));
  if (refused !== undefined || reading === 'none') {
    req.resume();
    if (refused) throw refused;
    return undefined;
  }
  return unencodedBody(req) ? readJsonBody(req, limits) : parseEncoded(general, req, res);
}

/** Runs the general body parser's middlewares on a request with a content encoding; its errors as the lean reader's. */
function parseEncoded(parser: RequestHandler[], req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err) return reject(mapBodyParserError(err) ?? err);
      const step = parser[i++];
      if (!step) return resolve((req as { body?: unknown }).body);
      void step(req as Request, res as Response, next);
    };
    next();
  });
}

/**
 * What a server listens with: the decision routes served by the table straight from `node:http`,
 * every other request handed to `app` (which serves the same table first, then its own routes).
 */
export function decisionListener(
  serve: DecisionRoutesHandler,
  app: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!serve(req, res)) app(req, res);
  };
}
