import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { type Router } from 'express';

/** Where `scripts/gen-openapi.mjs` writes the OpenAPI 3.1 document of every Argus HTTP API. */
export const OPENAPI_FILE = resolve(import.meta.dirname, '../../../../schemas/openapi/argus.openapi.json');

/** Options of {@link openapiRouter}. */
export interface OpenapiRouterOptions {
  /** The document to serve; default: the generated `schemas/openapi/argus.openapi.json`. */
  document?: unknown;
}

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document generated from the JSON Schemas in `schemas/`.
 * The file is read once, when the router is built, and served as it is (no auth: it holds no
 * secret and no data, only the shapes of the API).
 */
export function openapiRouter(options: OpenapiRouterOptions = {}): Router {
  const body = JSON.stringify(options.document ?? JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'public, max-age=300');
    res.send(body);
  });
  return router;
}

/** One route an express app or router answers: the method in upper case and the express path. */
export interface ExpressRoute {
  method: string;
  /** `/v1/agents/:id` for string paths, the regular expression's source for a RegExp route. */
  path: string;
}

interface LayerLike {
  route?: { path: string | RegExp | Array<string | RegExp>; methods: Record<string, boolean> };
  rawPath?: string | RegExp | Array<string | RegExp>;
  handle?: { stack?: LayerLike[]; router?: { stack?: LayerLike[] } };
}

/**
 * Every route reachable in an express 5 app or router, with the mount prefixes of nested routers
 * joined in. Used to check the OpenAPI document against the routes that really exist.
 */
export function expressRoutes(appOrRouter: unknown): ExpressRoute[] {
  const root = appOrRouter as { stack?: LayerLike[]; router?: { stack?: LayerLike[] } };
  const stack = root.router?.stack ?? root.stack;
  if (!stack) throw new TypeError('not an express app or router');
  const out: ExpressRoute[] = [];
  walk(stack, '', out);
  return out;
}

function walk(stack: LayerLike[], prefix: string, out: ExpressRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (!on) continue;
          out.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: typeof p === 'string' ? join(prefix, p) : p.source });
        }
      }
      continue;
    }
    const nested = layer.handle?.stack ?? layer.handle?.router?.stack;
    if (!nested) continue;
    const mount = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
    walk(nested, join(prefix, mount), out);
  }
}

function join(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}
