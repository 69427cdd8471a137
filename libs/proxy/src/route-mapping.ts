import { isUtf8 } from 'node:buffer';
import { idProblem, type EntityInput } from '@argus/contracts';
import { duplicateKeyPath, findTooDeep, InvalidInputError } from '@argus/platform';
import type { UpstreamConfig } from './config.ts';

/** What one call asks to do, in Cedar terms. */
export interface CallDescription {
  action: string;
  resource: EntityInput;
  context: Record<string, unknown>;
  /**
   * MCP session traffic (connect, listing, pings, allowed notifications): decided without the
   * declared intent and goal — it serves no intent and must not spend a goal's budget.
   */
  sessionTraffic?: boolean;
  /** A model call's body as parsed and decided: what goes up when the body must be re-sent. */
  document?: Record<string, unknown>;
}

/** Model-invoking routes of OpenAI-compatible APIs, path → operation. */
const OPENAI_MODEL_ROUTES: Record<string, string> = {
  '/v1/chat/completions': 'chat.completions',
  '/v1/responses': 'responses',
  '/v1/embeddings': 'embeddings',
  '/v1/completions': 'completions',
};

/** Model-invoking routes of the Anthropic API. */
const ANTHROPIC_MODEL_ROUTES: Record<string, string> = {
  '/v1/messages': 'messages',
};

/** A `.` or `..` segment. */
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/** What a path may hold as sent: RFC 3986's segment characters without `;`, and `/` between segments. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,=:@%/]*$/;

/** A percent-escape's two digits. */
const ESCAPE = /%(.{0,2})/gs;

/**
 * Why the proxy refuses a path, or undefined for one it can reason about: anything the upstream
 * could read differently than the route mapping and the policies do (RFC 3986 §6.2.2: a decoding
 * or normalizing upstream routes `/%61dmin` as `/admin`, and servlet-style routers drop `;…` from a
 * segment, so `/..;/admin` climbs). Refused: a character outside the path's set (`;`, spaces,
 * `#`, anything not ASCII: send those percent-encoded), a malformed escape or one that does not
 * decode as UTF-8, an escaped unreserved character (send `a`, not `%61`), an escaped separator,
 * backslash, dot or control character, an empty segment (`//`) and a `.` or `..` segment.
 */
export function pathIssue(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must begin with `/`';
  if (!PATH_CHARS.test(path)) return 'holds a character that must be percent-encoded (`;`, `#`, spaces, non-ASCII, ...)';
  if (path.includes('//')) return 'has an empty segment (`//`)';
  if (DOT_SEGMENT.test(path)) return 'has a `.` or `..` segment';
  if (!path.includes('%')) return undefined;
  for (const m of path.matchAll(ESCAPE)) {
    const digits = m[1]!;
    if (!/^[0-9A-Fa-f]{2}$/.test(digits)) return 'has a malformed percent-escape';
    const code = parseInt(digits, 16);
    if (code < 0x20 || code === 0x7f) return 'has an escaped control character';
    const char = String.fromCharCode(code);
    if (code < 0x80 && /[A-Za-z0-9\-._~]/.test(char)) return `escapes \`${char}\`, an unreserved character: send it as is`;
    if (char === '/' || char === '\\') return 'has an escaped separator';
  }
  try {
    decodeURIComponent(path);
  } catch {
    return 'has percent-escapes that do not decode as UTF-8';
  }
  return undefined;
}

/** True for a path the proxy can reason about ({@link pathIssue}). */
export function isCanonicalPath(path: string): boolean {
  return pathIssue(path) === undefined;
}

/**
 * Maps a request on an `openai`, `anthropic` or `http` upstream to its Cedar action, resource and
 * context. Model routes become `llm:invoke` on `Model::"<model>"` (model read from the body);
 * everything else becomes the upstream's configured action on `Api::"<upstream>"` with the
 * method and path in the context. Throws `InvalidInputError` naming the body path when a model
 * route's body has no model, or when a request to a model route other than POST carries a body.
 */
export function describeHttpCall(
  upstream: UpstreamConfig,
  method: string,
  path: string,
  body: Buffer | undefined,
  maxJsonDepth = Infinity,
): CallDescription {
  const routes = upstream.kind === 'openai' ? OPENAI_MODEL_ROUTES : upstream.kind === 'anthropic' ? ANTHROPIC_MODEL_ROUTES : undefined;
  // A model route takes its body on POST only, where its model is read and decided. The same path
  // with another method and a body would carry a model the decision never saw to an upstream that
  // might route by path alone, so it is refused rather than forwarded.
  // The model routes in any spelling an upstream might still route there: any letter case, a
  // trailing slash (`;` parameters are refused with every path that is not canonical, `pathIssue`).
  // Decided on the model either way.
  const route = routes ? modelRouteKey(path) : path;
  if (routes?.[route] !== undefined && method !== 'POST' && body !== undefined && body.length > 0) {
    throw new InvalidInputError(`a ${method.slice(0, 16)} request to a model route must not carry a body`, [
      { path: '/body', message: 'only POST requests to this route carry a body' },
    ]);
  }
  const operation = routes && method === 'POST' ? routes[route] : undefined;
  if (operation !== undefined) {
    const doc = parseJsonObject(body, maxJsonDepth);
    const model = doc.model;
    if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
      throw new InvalidInputError('request body must name a `model`', [
        { path: '/model', message: 'must be a non-empty string of at most 256 characters' },
      ]);
    }
    // The decision refuses such an id: refused here, as the caller's error, not as an outage.
    const problem = idProblem(model);
    if (problem) throw new InvalidInputError(`\`model\` ${problem}`, [{ path: '/model', message: problem }]);
    return {
      action: 'llm:invoke',
      resource: { type: 'Model', id: model, attributes: { provider: upstream.kind } },
      context: { upstream: upstream.name, provider: upstream.kind, operation, stream: doc.stream === true },
      document: doc,
    };
  }
  return {
    action: upstream.action,
    resource: { type: 'Api', id: upstream.name, attributes: { sensitivity: upstream.sensitivity ?? 'internal' } },
    context: { upstream: upstream.name, method, path },
  };
}

/** `path` as the model routes are keyed: lower case, without a trailing slash. */
function modelRouteKey(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '') || '/';
}

/**
 * Parses a JSON object body or throws `InvalidInputError`: not UTF-8, not JSON, not an object, or
 * nested deeper than `maxDepth` (`proxy.limits.maxJsonDepth`; an upstream's parser may recurse).
 */
export function parseJsonObject(body: Buffer | undefined, maxDepth = Infinity): Record<string, unknown> {
  // Decided on the text the upstream will read: bytes that are not UTF-8 would be decided as U+FFFD.
  if (body && !isUtf8(body)) throw new InvalidInputError('request body is not valid UTF-8', [{ path: '/', message: 'not valid UTF-8' }]);
  let doc: unknown;
  const text = body && body.length > 0 ? body.toString('utf8') : undefined;
  try {
    doc = text === undefined ? undefined : JSON.parse(text);
  } catch {
    throw new InvalidInputError('request body is not valid JSON', [{ path: '/', message: 'invalid JSON' }]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InvalidInputError('request body must be a JSON object', [{ path: '/', message: 'must be an object' }]);
  }
  // The upstream's parser may keep the first of two equal keys where JSON.parse keeps the last:
  // the call decided (`{"model":"ok","mod\u0065l":"other"}`) would not be the call run.
  const twice = duplicateKeyPath(text!);
  if (twice !== undefined) throw namedTwice(twice);
  const deep = Number.isFinite(maxDepth) ? findTooDeep(doc, maxDepth) : undefined;
  if (deep !== undefined)
    throw new InvalidInputError(`JSON nested deeper than ${maxDepth} levels`, [{ path: deep, message: `nesting exceeds ${maxDepth}` }]);
  return doc as Record<string, unknown>;
}

/** The 400 for a body naming a key twice in one object, at its path. */
export function namedTwice(path: string): InvalidInputError {
  return new InvalidInputError(`request body names \`${path.slice(0, 200)}\` twice`, [
    { path: path.slice(0, 200), message: 'a key named twice in one object: parsers disagree on which one counts' },
  ]);
}
