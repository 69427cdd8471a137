import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { ArgusError, InvalidInputError, toErrorBody } from './errors.ts';
import { notOriginForm } from './permissions.ts';

/**
 * Node's HTTP server, but answering a client that half-closes its side once its request is sent
 * (`shutdown(SHUT_WR)`: `nc -N`, some HTTP/1.0 clients and scripts). Node's default aborts such a
 * request unanswered; here its answer is written, then the connection ends (a decision is answered
 * in milliseconds). A client whose side closes once its answer has begun (an event stream) is taken
 * as gone, as before: the connection is closed at once, so the stream ends. Every listener of Argus
 * (decision point, proxy, registry) is made here, and none of them sees a request target that is
 * not a path: those are answered 400 here.
 */
export function createHttpServer(
  options: ServerOptions,
  listener: RequestListener,
  /**
   * `false` for the proxy: there a client's half-close is taken as the client leaving (Node's
   * default), so the upstream call behind it ends at once instead of running, and being billed,
   * until its answer comes.
   */
  answerHalfClosed = true,
): Server {
  /** The answer each connection is writing (the last one, with pipelining). */
  const answering = new WeakMap<Socket, ServerResponse>();
  // Host is checked below, answered in the error shape (Node's own check answers an empty 400).
  const server = createServer({ requireHostHeader: false, ...options }, (req, res) => {
    answering.set(req.socket, res);
    // INVARIANT: no listener sees a request target that is not a path (see `notOriginForm`).
    const foreign = notOriginForm(req.url ?? '') ?? hostIssue(req);
    if (!foreign) return listener(req, res);
    req.resume();
    const { status, body } = toErrorBody(foreign);
    res.setHeader('connection', 'close');
    sendJson(res, status, body);
  });
  // Node's switch for it: a property of every http.Server since 0.x (read in its socket's `end`
  // handler), not one of the constructor's options.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = answerHalfClosed;
  server.on('connection', (socket: Socket) => {
    socket.on('end', () => {
      const res = answering.get(socket);
      if (res && res.headersSent && !res.writableEnded) socket.destroy();
    });
  });
  // What Node's parser refuses (two Content-Length headers, Content-Length with Transfer-Encoding,
  // a bad chunk size, headers past the limit) and CONNECT: answered in the one error shape, naming
  // what was wrong, where Node writes a bare status line (or, for CONNECT, nothing at all).
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    // As Node's own handler: nothing is written over an answer already begun on this connection.
    const answer = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || answer?.headersSent) return void socket.destroy();
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
      return endWith(socket, 408, new InvalidInputError('request not received in time', [{ path: '', message: 'request timeout' }]));
    const overflow = err.code === 'HPE_HEADER_OVERFLOW';
    const detail = overflow
      ? { path: '/headers', message: 'the request line and headers exceed the size this server reads' }
      : { path: '', message: `not a valid HTTP/1.1 request (${String(err.code ?? 'unparsable').slice(0, 40)})` };
    endWith(
      socket,
      overflow ? 431 : 400,
      new InvalidInputError(overflow ? 'request headers too large' : 'malformed HTTP request', [detail]),
    );
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    endWith(
      socket,
      400,
      notOriginForm(req.url ?? '') ?? new InvalidInputError('CONNECT is not served here', [{ path: '', message: 'no tunnels' }]),
    );
  });
  return server;
}

/**
 * A 400 for an HTTP/1.1 request without a Host header, or for any request with two (RFC 9112
 * §3.2: Node keeps the first, a proxy or upstream might read the other).
 */
function hostIssue(req: IncomingMessage): InvalidInputError | undefined {
  if (req.headers.host === undefined)
    return req.httpVersion === '1.1'
      ? new InvalidInputError('an HTTP/1.1 request needs a Host header', [{ path: '/headers/host', message: 'missing' }])
      : undefined;
  let hosts = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  return hosts > 1
    ? new InvalidInputError('a request names its Host once', [{ path: '/headers/host', message: 'sent more than once' }])
    : undefined;
}

/** Writes a whole answer in the error shape on a socket no `ServerResponse` owns, and closes it. */
function endWith(socket: Socket, status: number, err: ArgusError): void {
  const body = JSON.stringify(toErrorBody(err).body);
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Limits applied to every JSON body. */
export interface BodyLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
}

/**
 * Returns the JSON path of the first value nested deeper than `maxDepth`, or undefined.
 * Iterative, so a hostile 100,000-deep document cannot overflow the stack. Paths are built only
 * for a document that has one (a second walk, in the same order); most have none.
 */
export function findTooDeep(value: unknown, maxDepth: number): string | undefined {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let tooDeep = false;
  while (values.length > 0 && !tooDeep) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) tooDeep = true;
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        values.push(v[i]);
        depths.push(depth + 1);
      }
    } else {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        values.push((v as Record<string, unknown>)[k]);
        depths.push(depth + 1);
      }
    }
  }
  return tooDeep ? tooDeepPath(value, maxDepth) : undefined;
}

function tooDeepPath(value: unknown, maxDepth: number): string | undefined {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return path || '/';
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: depth + 1, path: `${path}/${i}` });
    } else {
      for (const [k, child] of Object.entries(v)) stack.push({ v: child, depth: depth + 1, path: `${path}/${escapePointer(k)}` });
    }
  }
  return undefined;
}

/** Escapes one JSON Pointer segment (RFC 6901). */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * express middlewares that parse a JSON body within the limits and reject anything else with a 4xx.
 * `mediaType` decides which declared content types are refused (default {@link mediaTypeError}:
 * anything but JSON); it may look at the request (the OPA Data API reads JSON whatever the type).
 */
export function jsonBody(
  limits: BodyLimits,
  mediaType: (type: string | undefined, req: Parameters<RequestHandler>[0]) => ArgusError | undefined = mediaTypeError,
): RequestHandler[] {
  const parse = express.json({
    limit: limits.maxBodyBytes,
    strict: false,
    type: () => true,
    // Marked, not thrown: the parser would answer a throw here with a 403.
    verify: (req, _res, buf) => {
      if (!isUtf8(buf)) (req as { notUtf8?: boolean }).notUtf8 = true;
    },
  });
  const check: RequestHandler = (req, _res, next) => {
    if ((req as { notUtf8?: boolean }).notUtf8) return next(notUtf8());
    if (req.body === undefined) return next();
    const deep = findTooDeep(req.body, limits.maxJsonDepth);
    if (deep !== undefined) {
      return next(tooDeep(deep, limits.maxJsonDepth));
    }
    next();
  };
  const requireJson: RequestHandler = (req, _res, next) => {
    next(mediaType(req.headers['content-type'], req));
  };
  return [requireJson, parse, check];
}

/**
 * The 415 for a body whose declared type is not JSON, or whose declared charset is not UTF-8
 * (JSON is UTF-8, RFC 8259 §8.1: a body declared otherwise is refused, never re-decoded);
 * undefined when the type is acceptable or absent.
 */
export function mediaTypeError(type: string | undefined): ArgusError | undefined {
  if (type === undefined) return undefined;
  if (!/^\s*application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    return new ArgusError('unsupported_media_type', `content type \`${type.split(';')[0]!.trim().slice(0, 100)}\` is not JSON`, {
      errors: [{ path: '/headers/content-type', message: 'expected application/json' }],
    });
  }
  return charsetError(type);
}

/** The 415 for a body declared in a charset other than UTF-8 (whatever its media type); undefined otherwise. */
export function charsetError(type: string | undefined): ArgusError | undefined {
  const charset = type === undefined ? undefined : /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return new ArgusError('unsupported_media_type', `charset \`${charset.slice(0, 40)}\` is not accepted: JSON bodies are UTF-8`, {
      errors: [{ path: '/headers/content-type', message: 'charset must be utf-8' }],
    });
  }
  return undefined;
}

/**
 * Reads and parses a JSON body within the limits, with the same outcomes as {@link jsonBody}
 * (413 `body_too_large`, 400 `invalid_json`, 400 for nesting deeper than allowed) but without
 * the general middleware's machinery; for the hot routes. Only for a body without a content
 * encoding ({@link unencodedBody}; the general {@link jsonBody} decodes the others), its media
 * type already checked. An empty body parses as `undefined`.
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  const bytes = await readRawBody(req, limits.maxBodyBytes);
  if (bytes.length === 0) return undefined;
  if (!isUtf8(bytes)) throw notUtf8();
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw notJson(String((err as Error).message).slice(0, 200));
  }
  const deep = findTooDeep(value, limits.maxJsonDepth);
  if (deep !== undefined) throw tooDeep(deep, limits.maxJsonDepth);
  return value;
}

/**
 * Reads a request body as bytes within `maxBytes`, without the general middleware's machinery:
 * for bodies sent without a content encoding ({@link unencodedBody}). A
 * declared or actual size over the limit is a 413 `body_too_large`; an aborted body a 400.
 */
export function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      req.resume();
      reject(tooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (failed) return;
      failed = true;
      reject(new ArgusError('invalid_json', 'request body could not be read (request.aborted)', { cause: err }));
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

/** True when `req` carries no content encoding, so {@link readRawBody} can read it. */
export function unencodedBody(req: IncomingMessage): boolean {
  const encoding = req.headers['content-encoding'];
  return encoding === undefined || encoding.toLowerCase() === 'identity';
}

function tooLarge(limit: number | undefined): ArgusError {
  return new ArgusError('body_too_large', `request body exceeds ${limit ?? 'the limit of'} bytes`, {
    errors: [{ path: '', message: 'body too large' }],
  });
}

function tooDeep(path: string, maxDepth: number): InvalidInputError {
  return new InvalidInputError(`JSON nested deeper than ${maxDepth} levels`, [{ path, message: `nesting exceeds ${maxDepth}` }]);
}

/**
 * A 400 for a body that is not valid UTF-8 (RFC 8259 §8.1): decoding would replace each bad byte
 * with U+FFFD, so what is decided and recorded would differ from what was sent.
 */
export function notUtf8(): ArgusError {
  return new ArgusError('invalid_json', 'request body is not valid UTF-8', { errors: [{ path: '', message: 'not valid UTF-8' }] });
}

function notJson(detail: string): ArgusError {
  return new ArgusError('invalid_json', 'request body is not valid JSON', { errors: [{ path: '', message: detail }] });
}

/** Sends a JSON answer without express's `res.json` machinery (the content length is set by `end`). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** The request id of `req`: its `x-request-id` when sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
}

/** The request's logger, a child of `logger` carrying `requestId`, built only when something logs (most requests never do). */
export function lazyRequestLog(logger: Logger, requestId: string): () => Logger {
  let log: Logger | undefined;
  return () => (log ??= logger.child({ requestId }));
}

/** Assigns a request id (from `x-request-id` when sane) and a child logger to every request. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdOf(req);
    res.locals.requestId = id;
    Object.defineProperty(res.locals, 'log', { get: lazyRequestLog(logger, id), configurable: true, enumerable: true });
    res.setHeader('x-request-id', id);
    next();
  };
}

/**
 * Answers `err` in the wire error shape (the body parser's errors mapped like the lean readers'),
 * logging server faults; a response already under way is ended. Never sends a stack trace.
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const mapped = toErrorBody(mapBodyParserError(err) ?? err);
  if (mapped.status >= 500) log.error({ err: errorSummary(err) }, 'request failed');
  else log.debug({ code: mapped.body.code }, 'request rejected');
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, mapped.status, mapped.body);
}

/** The one place that turns anything thrown into the wire error shape. Never sends a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, err, res.locals.log ?? logger);
  };
}

/** A 404 in the wire shape for routes that do not exist. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ code: 'not_found', message: `no route for ${req.method} \`${req.path}\``, errors: [] });
};

/** Maps the general body parser's errors onto the same answers the lean reader gives. */
export function mapBodyParserError(err: unknown): ArgusError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  // The router's own parameter decoding: a malformed percent-escape is the client's, never a 500.
  if (err instanceof URIError)
    return new InvalidInputError('malformed percent-escape in the request path', [
      { path: '', message: 'not a valid UTF-8 percent-encoding' },
    ]);
  const type = (err as { type?: string }).type;
  const detail = String((err as { message?: unknown }).message).slice(0, 200);
  if (type === 'entity.too.large') return tooLarge((err as { limit?: number }).limit);
  if (type === 'entity.parse.failed') return notJson(detail);
  if (type === 'encoding.unsupported') {
    const encoding = String((err as { encoding?: unknown }).encoding ?? '').slice(0, 60);
    return new ArgusError(
      'unsupported_media_type',
      `content encoding \`${encoding}\` is not accepted: send gzip, deflate, br or none, once`,
      {
        errors: [{ path: '/headers/content-encoding', message: 'unsupported content encoding' }],
      },
    );
  }
  if (type === 'charset.unsupported') return charsetError(`;charset=${String((err as { charset?: unknown }).charset ?? '')}`);
  if (type === 'request.aborted' || type === 'request.size.invalid') {
    return new ArgusError('invalid_json', `request body could not be read (${type})`);
  }
  // A body that fails to decompress: the parser marks it a client error (400) without a type.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
    return new ArgusError('invalid_json', 'request body could not be read', { errors: [{ path: '', message: detail }] });
  }
  return undefined;
}

/** What of an unknown error may be logged: name, code and message, never the whole object. */
export function errorSummary(err: unknown): { name?: string; code?: unknown; message?: string } {
  if (err instanceof Error) return { name: err.name, code: (err as { code?: unknown }).code, message: err.message };
  return { message: String(err) };
}

/** Wraps an async route handler so a rejection reaches the error handler. */
export function asyncRoute(fn: (req: Request, res: Response, next: NextFunction) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    fn(req, res, next).catch(next);
  };
}
