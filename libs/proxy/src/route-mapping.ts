import { isUtf8 } from 'node:buffer';
import type { EntityInput } from '@argus/contracts';
import { findTooDeep, InvalidInputError } from '@argus/platform';
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

/**
 * True for a path the proxy can reason about: no dot segments, no encoded slashes, dots or
 * backslashes, no empty segments. Anything else could be read differently by the upstream than
 * by the route mapping, so it is refused.
 */
export function isCanonicalPath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  if (/%(2e|2f|5c|00)/i.test(path) || path.includes('\\') || path.includes('//')) return false;
  // A segment that is `.` or `..`: every segment follows a `/` (the path starts with one).
  return !DOT_SEGMENT.test(path);
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
  // trailing slash, `;` parameters on a segment. Decided on the model either way.
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

/** `path` as the model routes are keyed: lower case, without `;` segment parameters or a trailing slash. */
function modelRouteKey(path: string): string {
  return (
    path
      .toLowerCase()
      .replace(/;[^/]*/g, '')
      .replace(/\/+$/, '') || '/'
  );
}

/**
 * Parses a JSON object body or throws `InvalidInputError`: not UTF-8, not JSON, not an object, or
 * nested deeper than `maxDepth` (`proxy.limits.maxJsonDepth`; an upstream's parser may recurse).
 */
export function parseJsonObject(body: Buffer | undefined, maxDepth = Infinity): Record<string, unknown> {
  // Decided on the text the upstream will read: bytes that are not UTF-8 would be decided as U+FFFD.
  if (body && !isUtf8(body)) throw new InvalidInputError('request body is not valid UTF-8', [{ path: '/', message: 'not valid UTF-8' }]);
  let doc: unknown;
  try {
    doc = body && body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
  } catch {
    throw new InvalidInputError('request body is not valid JSON', [{ path: '/', message: 'invalid JSON' }]);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InvalidInputError('request body must be a JSON object', [{ path: '/', message: 'must be an object' }]);
  }
  const deep = Number.isFinite(maxDepth) ? findTooDeep(doc, maxDepth) : undefined;
  if (deep !== undefined)
    throw new InvalidInputError(`JSON nested deeper than ${maxDepth} levels`, [{ path: deep, message: `nesting exceeds ${maxDepth}` }]);
  return doc as Record<string, unknown>;
}
