/**
 * The web console: hand-written ES modules and CSS from `public/`, served with exact content
 * types, validators for revalidation and a strict Content-Security-Policy, plus the one endpoint
 * the console needs that the APIs do not offer (evaluating a request on a candidate policy set).
 *
 * INVARIANT: only files present in `public/` when the router is built are served, from memory;
 * no request path ever reaches the file system, so there is no traversal to guard against.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncRoute, ConfigError, errorHandler, jsonBody, silentLogger, type Logger } from '@argus/platform';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { DEFAULT_CANDIDATE_LIMITS, evaluateCandidate, parseCandidateRequest, type CandidateLimits } from './candidate.ts';
import { loadVendorAssets } from './vendor.ts';

/** Options of the console router. */
export interface ConsoleRouterOptions {
  /** Where the console lives. Default `/console`. Must start with `/` and not end with one. */
  basePath?: string;
  /**
   * Guards `POST {basePath}/api/candidate/evaluate` (e.g. `requireAuth(authenticator)`). Without it
   * the endpoint is as open as `POST /v1/policies/validate`: it reads no server state.
   */
  authenticate?: RequestHandler;
  /** Body limits of the candidate endpoint. Defaults: 2 MiB, depth 64. */
  maxBodyBytes?: number;
  maxJsonDepth?: number;
  candidateLimits?: Partial<CandidateLimits>;
  /** Logs failures of the candidate endpoint. Default silent. */
  logger?: Logger;
  /** The asset folder. Default `public/` beside this module. */
  assetsDir?: string;
}

/**
 * The Content-Security-Policy of every console response: nothing but the console's own origin.
 * Two narrow allowances serve the policy editor (CodeMirror): `style` attributes it sets on its own
 * elements (never `<style>` elements or sheets from elsewhere: its rules live in a constructed sheet),
 * and `data:` images (the lint markers are inline SVG in its theme). Scripts stay `'self'` only.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Reads every servable file under `dir` into memory, keyed by its URL path (`/js/app.js`). */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const type = CONTENT_TYPES[extname(entry.name)];
        if (!type) continue;
        const body = readFileSync(full);
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
        assets.set(`/${relative(dir, full).split(sep).join('/')}`, { body, type, etag });
      }
    }
  };
  walk(dir);
  return assets;
}

function securityHeaders(res: Response): void {
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
}

function notFound(req: Request, res: Response): void {
  securityHeaders(res);
  res.status(404).json({ code: 'not_found', message: `no console file \`${req.path.slice(0, 200)}\``, errors: [] });
}

/**
 * Builds the console router. Mount it on any express app (`argus serve` mounts it on the decision
 * API, so the console and the APIs share one origin):
 * - `GET {basePath}` → 301 to `{basePath}/`;
 * - `GET|HEAD {basePath}/` and `{basePath}/<asset>` → the file, `cache-control: no-cache` with a
 *   strong ETag (304 on `If-None-Match`), CSP `default-src 'self'`, `nosniff`;
 * - `POST {basePath}/api/candidate/evaluate` → a request evaluated on a candidate policy set;
 * - anything else under `{basePath}` → a 404 (or 405) in the wire error shape.
 */
export function createConsoleRouter(options: ConsoleRouterOptions = {}): Router {
  const basePath = options.basePath ?? '/console';
  if (!/^\/[\w-]+(\/[\w-]+)*$/.test(basePath)) throw new ConfigError(`console base path \`${basePath}\` must look like \`/console\``);
  const assets = loadAssets(options.assetsDir ?? join(dirname(fileURLToPath(import.meta.url)), 'public'));
  if (!assets.has('/index.html')) throw new ConfigError('the console assets hold no `index.html`');
  // The policy editor's modules (CodeMirror), served from the installed packages under `/vendor/`.
  for (const [path, asset] of loadVendorAssets()) assets.set(path, asset);
  const limits: CandidateLimits = { ...DEFAULT_CANDIDATE_LIMITS, ...options.candidateLimits };
  const logger = options.logger ?? silentLogger();

  const router = express.Router({ strict: true });
  const inner = express.Router({ strict: true });

  const api = express.Router();
  api.use((_req, res, next) => {
    securityHeaders(res);
    res.setHeader('cache-control', 'no-store');
    next();
  });
  const guard = options.authenticate ? [options.authenticate] : [];
  api.post(
    '/candidate/evaluate',
    ...guard,
    ...jsonBody({ maxBodyBytes: options.maxBodyBytes ?? 2 * 1024 * 1024, maxJsonDepth: options.maxJsonDepth ?? 64 }),
    asyncRoute(async (req, res) => {
      res.json(evaluateCandidate(parseCandidateRequest(req.body, limits)));
    }),
  );
  api.all('/candidate/evaluate', (_req, res) => {
    res.setHeader('allow', 'POST');
    res.status(405).json({ code: 'method_not_allowed', message: 'use POST', errors: [] });
  });
  api.use((req, res) => notFound(req, res));
  api.use(errorHandler(logger));
  inner.use('/api', api);

  inner.use((req, res) => {
    const path = req.path === '/' ? '/index.html' : req.path;
    const asset = assets.get(path);
    if (!asset) return notFound(req, res);
    securityHeaders(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return void res
        .status(405)
        .json({ code: 'method_not_allowed', message: `${req.method} is not allowed on console files`, errors: [] });
    }
    res.setHeader('content-type', asset.type);
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('etag', asset.etag);
    const match = req.headers['if-none-match'];
    if (typeof match === 'string' && match.split(',').some((t) => t.trim() === asset.etag || t.trim() === `W/${asset.etag}`)) {
      return void res.status(304).end();
    }
    res.setHeader('content-length', String(asset.body.length));
    res.status(200);
    if (req.method === 'HEAD') return void res.end();
    res.end(asset.body);
  });

  router.get(basePath, (req, res, next) => {
    // Express matches `/console/` here too when not strict about the slash: redirect only the bare path.
    if (req.path !== basePath) return next();
    securityHeaders(res);
    res.redirect(301, `${basePath}/`);
  });
  router.use(basePath, inner);
  return router;
}
