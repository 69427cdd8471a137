import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError, ForbiddenError, UnauthorizedError } from './errors.ts';

/** What kind of caller a credential identifies. */
export type PrincipalKind = 'admin' | 'human' | 'scanner' | 'agent';

/** The authenticated caller: who (`subject`), with which roles, of which kind. */
export interface AuthPrincipal {
  subject: string;
  roles: string[];
  kind: PrincipalKind;
}

/** JWT verification against a JWKS (remote URL or local key set). */
export interface JwksOptions {
  /** JWKS endpoint, fetched and cached by `jose` (never both `url` and `keys`). */
  url?: string;
  /** A local JWKS. */
  keys?: JSONWebKeySet;
  issuer?: string;
  audience?: string;
  /** The role that makes a JWT holder an admin. Default `argus-admin`. */
  adminRole?: string;
  /** The claim holding the roles (an array of strings or a space-separated string). Default `roles`. */
  rolesClaim?: string;
  /** Allowed clock skew. Default 30 s. */
  clockToleranceSec?: number;
  /** Bound on fetching a remote JWKS. Default 2,000 ms. */
  timeoutMs?: number;
}

/** Credentials accepted by an authenticator. Every token map is `subject → token`. */
export interface AuthenticatorOptions {
  /** The static admin token (from config / `ARGUS_ADMIN_TOKEN`). */
  adminToken?: string;
  jwks?: JwksOptions;
  /** Scanner id → token: scanners report discoveries with their own credential. */
  scannerTokens?: Record<string, string>;
  /** Agent id → token: an agent may only act for itself. */
  agentTokens?: Record<string, string>;
}

/** The outcome of checking a credential: a principal, or why there is none. */
export type AuthResult = { ok: true; principal: AuthPrincipal } | { ok: false; reason: 'missing' | 'malformed' | 'invalid' };

/** Checks `Authorization: Bearer` credentials. */
export interface Authenticator {
  /** Checks the value of an `Authorization` header. Never throws for a bad credential. */
  authenticate(authorization: string | undefined): Promise<AuthResult>;
}

interface StaticToken {
  digest: Buffer;
  principal: AuthPrincipal;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

function rolesFrom(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload;
  for (const part of claim.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

/**
 * Builds an authenticator over static tokens (admin, scanners, agents) and, optionally, JWTs
 * verified against a JWKS. Static tokens are compared in constant time over their sha256
 * digests, and every configured token is compared on every call, so timing reveals neither
 * the token nor which table it was found in.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const tokens: StaticToken[] = [];
  const add = (token: string | undefined, principal: AuthPrincipal, path: string) => {
    if (token === undefined) return;
    if (typeof token !== 'string' || token.length === 0) throw new ConfigError('empty token', [{ path, message: 'must be a non-empty string' }]);
    tokens.push({ digest: digest(token), principal });
  };
  add(options.adminToken, { subject: 'admin', roles: ['admin'], kind: 'admin' }, '/auth/adminToken');
  for (const [id, token] of Object.entries(options.scannerTokens ?? {})) add(token, { subject: id, roles: ['scanner'], kind: 'scanner' }, `/auth/scannerTokens/${id}`);
  for (const [id, token] of Object.entries(options.agentTokens ?? {})) add(token, { subject: id, roles: ['agent'], kind: 'agent' }, `/auth/agentTokens/${id}`);

  let keySet: JWTVerifyGetKey | undefined;
  const jwks = options.jwks;
  if (jwks) {
    if ((jwks.url === undefined) === (jwks.keys === undefined)) {
      throw new ConfigError('JWKS needs exactly one of `url` or `keys`', [{ path: '/auth/jwks', message: 'set exactly one of `url` or `keys`' }]);
    }
    if (jwks.url !== undefined) {
      let url: URL;
      try {
        url = new URL(jwks.url);
      } catch {
        throw new ConfigError('JWKS URL is not a URL', [{ path: '/auth/jwks/url', message: 'must be an absolute http(s) URL' }]);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('JWKS URL must be http(s)', [{ path: '/auth/jwks/url', message: 'must be http(s)' }]);
      keySet = createRemoteJWKSet(url, { timeoutDuration: jwks.timeoutMs ?? 2_000 });
    } else {
      keySet = createLocalJWKSet(jwks.keys!);
    }
  }
  const adminRole = jwks?.adminRole ?? 'argus-admin';
  const rolesClaim = jwks?.rolesClaim ?? 'roles';

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
      const match = /^Bearer[ ]+([\x21-\x7e]{1,8192})$/i.exec(authorization.trim());
      if (!match) return { ok: false, reason: 'malformed' };
      const token = match[1]!;
      const presented = digest(token);
      let found: AuthPrincipal | undefined;
      for (const t of tokens) {
        // INVARIANT: no early exit, so the time taken does not depend on which token matched.
        if (timingSafeEqual(t.digest, presented) && found === undefined) found = t.principal;
      }
      if (found) return { ok: true, principal: { ...found, roles: [...found.roles] } };
      if (keySet && looksLikeJwt(token)) {
        try {
          const { payload } = await jwtVerify(token, keySet, {
            ...(jwks?.issuer !== undefined ? { issuer: jwks.issuer } : {}),
            ...(jwks?.audience !== undefined ? { audience: jwks.audience } : {}),
            clockTolerance: jwks?.clockToleranceSec ?? 30,
          });
          if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, reason: 'invalid' };
          const roles = rolesFrom(payload, rolesClaim);
          return { ok: true, principal: { subject: payload.sub, roles, kind: roles.includes(adminRole) ? 'admin' : 'human' } };
        } catch {
          // Bad signature, expired, wrong issuer/audience, or the JWKS could not be fetched: all fail closed.
          return { ok: false, reason: 'invalid' };
        }
      }
      return { ok: false, reason: 'invalid' };
    },
  };
}

/** The principal that `requireAuth` / `requireAdmin` / `requireRole` stored on the response. */
export function principalOf(res: Response): AuthPrincipal {
  const principal = res.locals.principal as AuthPrincipal | undefined;
  if (!principal) throw new UnauthorizedError();
  return principal;
}

function unauthorized(res: Response, next: NextFunction, reason: string): void {
  res.setHeader('www-authenticate', 'Bearer realm="argus"');
  next(new UnauthorizedError(reason === 'missing' ? 'missing credential' : 'invalid credential'));
}

function guard(auth: Authenticator, allowed: (p: AuthPrincipal) => boolean, denied: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    auth.authenticate(req.headers.authorization).then(
      (result) => {
        if (!result.ok) return unauthorized(res, next, result.reason);
        if (!allowed(result.principal)) return next(new ForbiddenError(denied));
        res.locals.principal = result.principal;
        next();
      },
      () => unauthorized(res, next, 'invalid'),
    );
  };
}

/** Any authenticated caller; 401 in the wire shape otherwise. */
export function requireAuth(auth: Authenticator): RequestHandler {
  return guard(auth, () => true, 'not allowed');
}

/** An admin (static admin token, or a JWT carrying the admin role); 401 / 403 otherwise. */
export function requireAdmin(auth: Authenticator): RequestHandler {
  return guard(auth, (p) => p.kind === 'admin', 'admin credential required');
}

/**
 * A caller holding one of `roles` (scanners hold `scanner`, agents `agent`; JWT holders their
 * claimed roles). Admins always pass. 401 / 403 otherwise.
 */
export function requireRole(auth: Authenticator, ...roles: string[]): RequestHandler {
  return guard(auth, (p) => p.kind === 'admin' || p.roles.some((r) => roles.includes(r)), `requires one of the roles ${roles.map((r) => `\`${r}\``).join(', ')}`);
}
