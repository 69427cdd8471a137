/**
 * Routing: one route per configured upstream, matched by path prefix (never by `Host`), and the
 * reading of a call's body within the route's limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, readRawBody, sendJson, unencodedBody } from '@argus/platform';
import express from 'express';
import type { RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import { dialectOf, type Dialect } from './answers.ts';
import type { UpstreamConfig } from './config.ts';
import type { ProxyContext } from './context.ts';
import { createUpstreamProxy } from './forward.ts';
import { stripSet } from './headers.ts';
import { injectionFor, type CredentialInjection } from './inject-credential.ts';
import { pathIssue } from './route-mapping.ts';

/** One configured upstream, ready to serve. */
export interface Route {
  upstream: UpstreamConfig;
  dialect: Dialect;
  /** The prefix, lower-cased: matched without regard to case, as a mount point is. */
  prefix: string;
  maxBodyBytes: number;
  /** The configured headers to strip (global and the upstream's), lower-cased. */
  stripHeaders: ReadonlySet<string>;
  injection: CredentialInjection | undefined;
  proxy: ProxyHandler;
  /** Reads bodies sent with a content encoding (decompressed within the limit). */
  encodedBody: ReturnType<typeof express.raw>;
}

/** The routes of every configured upstream, in configuration order. */
export function createRoutes(ctx: ProxyContext): Route[] {
  const { config } = ctx;
  return config.upstreams.map((upstream) => {
    const maxBodyBytes = upstream.maxBodyBytes ?? config.limits.maxBodyBytes;
    return {
      upstream,
      dialect: dialectOf(upstream.kind),
      prefix: upstream.prefix.toLowerCase(),
      maxBodyBytes,
      stripHeaders: stripSet([...config.stripHeaders, ...upstream.stripHeaders]),
      injection: injectionFor(upstream),
      proxy: createUpstreamProxy(ctx, upstream),
      encodedBody: express.raw({ type: () => true, limit: maxBodyBytes }),
    };
  });
}

/**
 * The route of `req`, with `req.url` rewritten to the upstream path (`/openai/v1/x?q` → `/v1/x?q`);
 * none (answered 404) when no upstream's prefix matches.
 */
export function matchRoute(routes: readonly Route[], req: IncomingMessage, res: ServerResponse): Route | undefined {
  const url = req.url ?? '/';
  const route = routeOf(routes, url);
  if (!route) {
    const path = url.split('?', 1)[0]!;
    sendJson(res, 404, { code: 'not_found', message: `no upstream for \`${path.slice(0, 200)}\``, errors: [] });
    return undefined;
  }
  const rest = url.slice(route.prefix.length);
  req.url = rest.startsWith('/') ? rest : `/${rest}`;
  if (!rest.startsWith('/')) bareMounts.add(req);
  return route;
}

/** Calls to an upstream's prefix itself (`/mcp`, `/mcp?x`): they go up to its target's path as written. */
const bareMounts = new WeakSet<IncomingMessage>();

/**
 * The request target to hand the upstream proxy: the path after the prefix, or for a call to the
 * prefix itself only its query, so that it reaches the target's path as written (`/mcp`, not
 * `/mcp/`: a server routing strictly has no `/mcp/`).
 */
export function forwardedUrl(req: IncomingMessage): string {
  const url = req.url ?? '/';
  return bareMounts.has(req) && url.startsWith('/') ? url.slice(1) : url;
}

/** The route whose prefix `url` starts with (a whole segment, any case), if any. */
export function routeOf(routes: readonly Route[], url: string): Route | undefined {
  for (const r of routes) {
    const n = r.prefix.length;
    if (url.length < n || url.slice(0, n).toLowerCase() !== r.prefix) continue;
    const next = url.charCodeAt(n);
    // End of the URL, `/` or `?`: the prefix is a whole segment.
    if (Number.isNaN(next) || next === 47 || next === 63) return r;
  }
  return undefined;
}

/** The call's body within the route's limit (a content encoding decoded); rejects past the limit. */
export function readBody(route: Route, req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  if (unencodedBody(req)) return readRawBody(req, route.maxBodyBytes);
  return new Promise((resolve, reject) => {
    const withBody = req as IncomingMessage & { body?: unknown };
    route.encodedBody(withBody as never, res as never, (err?: unknown) =>
      err ? reject(err) : resolve(Buffer.isBuffer(withBody.body) ? withBody.body : undefined),
    );
  });
}

/**
 * The upstream path of a matched call (without the query). Throws `InvalidInputError` when it is
 * not canonical ({@link pathIssue}): the upstream could read it differently than the route
 * mapping and the policies do.
 */
export function upstreamPathOf(req: IncomingMessage): string {
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const issue = pathIssue(path);
  if (issue !== undefined) throw new InvalidInputError(`request path is not canonical: it ${issue}`, [{ path: '/path', message: issue }]);
  return path;
}
