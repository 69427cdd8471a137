import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { idProblem } from '@argus/contracts';
import { ConfigError, ForbiddenError, UnauthorizedError, type ErrorDetail } from './errors.ts';
import { sha256Hex } from './hash.ts';

/**
 * What kind of caller a credential identifies. Every credential maps to exactly one kind:
 * `admin` (the admin token, an IdP human holding the admin role), `human` (an IdP user),
 * `agent` (an Argus-issued agent token or an IdP agent JWT), `service` (a policy enforcement point
 * calling the decision API: the proxy, an application), `scanner` (a discovery scanner).
 */
export type PrincipalKind = 'admin' | 'human' | 'agent' | 'service' | 'scanner';

/** Every caller kind, in the order the documentation lists them. */
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['admin', 'human', 'agent', 'service', 'scanner'];

/** The authenticated caller: who (`subject`: an agent id for agents), with which roles, of which kind. */
export interface AuthPrincipal {
  subject: string;
  roles: string[];
  kind: PrincipalKind;
}

/**
 * How an IdP JWT says who its holder is. A JWT whose kind cannot be read from `kind` through
 * `kindValues` is refused: it is never taken for a human by default.
 */
export interface JwtClaimMapping {
  /** The claim (dotted path) naming the caller's kind. Default `kind`. */
  kind?: string;
  /**
   * Claim value → caller kind. Default: `human`, `agent` and `service` map to themselves.
   * `admin` is not a value: a human holding `adminRole` is an admin.
   */
  kindValues?: Record<string, 'human' | 'agent' | 'service'>;
  /** The claim (dotted path) holding the roles (an array of strings or a space-separated string). Default `roles`. */
  roles?: string;
  /** The claim (dotted path) holding an agent's id; the subject of an agent principal. Default `sub`. */
  agentId?: string;
}

/** JWT verification against a JWKS (remote URL or local key set). */
export interface JwksOptions {
  /** JWKS endpoint, fetched and cached by `jose` (never both `url` and `keys`). */
  url?: string;
  /** A local JWKS. */
  keys?: JSONWebKeySet;
  issuer?: string;
  audience?: string;
  /** The role that makes a human JWT holder an admin. Default `argus-admin`. */
  adminRole?: string;
  /** Legacy alias of `claims.roles`. */
  rolesClaim?: string;
  /** Which claims carry the kind, the roles and the agent id. */
  claims?: JwtClaimMapping;
  /** Accepted signature algorithms. Default: the asymmetric JWS algorithms (`none` and HMAC never). */
  algorithms?: string[];
  /** Allowed clock skew. Default 30 s. */
  clockToleranceSec?: number;
  /**
   * Longest lifetime a JWT may have: `exp - iat` (without `iat`, `exp - now`). A JWT living longer
   * is refused. Default: no bound (`exp` is always required, whatever this says).
   */
  maxTokenLifetimeSec?: number;
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
  /** Service id → token: policy enforcement points (the proxy, applications) calling the decision API. */
  serviceTokens?: Record<string, string>;
  /** Agent id → token: an agent may only act for itself. */
  agentTokens?: Record<string, string>;
  /**
   * Argus-issued agent tokens (`argus_…`) by their SHA-256 (hex), as the proxy configuration
   * stores them (`argus agents token` prints the token once and stores only its hash).
   */
  agentTokenHashes?: ReadonlyArray<{ agent: string; sha256: string }>;
  /** Looks an Argus-issued agent token up by its SHA-256 (hex) elsewhere (the secrets store); undefined when unknown. */
  lookupAgentToken?: (sha256: string) => Promise<string | undefined>;
}

/**
 * Why a credential was refused. `unknown_kind`: a valid JWT whose caller kind the claim mapping
 * cannot tell; `no_agent_id`: an agent JWT without its agent id claim (`claims.agentId`);
 * `no_subject`: a human or service JWT without `sub`; `reserved_subject`: a valid JWT naming the
 * service `proxy`, whose privileges belong to the configured service token `auth.serviceTokens.proxy` alone.
 */
export type AuthFailure = 'missing' | 'malformed' | 'invalid' | 'unknown_kind' | 'no_agent_id' | 'no_subject' | 'reserved_subject';

/** The service id whose privileges (what-ifs, goal usage, live tools) only its configured service token holds, never a JWT. */
export const RESERVED_SERVICE_SUBJECT = 'proxy';

/** The outcome of checking a credential: a principal, or why there is none. */
export type AuthResult = { ok: true; principal: AuthPrincipal } | { ok: false; reason: AuthFailure };

/** Checks `Authorization: Bearer` credentials. */
export interface Authenticator {
  /** Checks the value of an `Authorization` header. Never throws for a bad credential. */
  authenticate(authorization: string | undefined): Promise<AuthResult>;
}

interface StaticToken {
  digest: Buffer;
  principal: AuthPrincipal;
}

/** Argus-issued agent tokens start with this prefix. */
export const ARGUS_AGENT_TOKEN_PREFIX = 'argus_';

/** The JWS algorithms accepted by default: asymmetric only, so neither `none` nor a shared secret ever verifies. */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

function claimAt(payload: JWTPayload, claim: string): unknown {
  let value: unknown = payload;
  for (const part of claim.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function rolesFrom(payload: JWTPayload, claim: string): string[] {
  const value = claimAt(payload, claim);
  if (Array.isArray(value)) return value.filter((r): r is string => typeof r === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

const DEFAULT_KIND_VALUES: Record<string, 'human' | 'agent' | 'service'> = { human: 'human', agent: 'agent', service: 'service' };

/** Who a verified JWT payload names through the claim mapping, or why it names no one. */
export type ClaimsResult =
  { ok: true; principal: AuthPrincipal } | { ok: false; reason: 'unknown_kind' | 'no_agent_id' | 'no_subject' | 'reserved_subject' };

/** Format characters (zero-width spaces, bidirectional overrides): `dave\u200b` would read as `dave`. */
const INVISIBLE = /\p{Cf}/u;

/**
 * The principal a verified JWT payload names, through the claim mapping: refused when its kind
 * cannot be determined, when it lacks the claim naming its holder (an agent's id, or `sub`), or
 * when it names the reserved service `proxy`.
 */
export function claimsPrincipal(
  payload: JWTPayload,
  options: { claims?: JwtClaimMapping; adminRole?: string; rolesClaim?: string } = {},
): ClaimsResult {
  const claims = options.claims ?? {};
  const raw = claimAt(payload, claims.kind ?? 'kind');
  const values = claims.kindValues ?? DEFAULT_KIND_VALUES;
  const kind = typeof raw === 'string' && Object.hasOwn(values, raw) ? values[raw] : undefined;
  if (kind === undefined) return { ok: false, reason: 'unknown_kind' };
  const roles = rolesFrom(payload, claims.roles ?? options.rolesClaim ?? 'roles');
  const subjectClaim = kind === 'agent' ? (claims.agentId ?? 'sub') : 'sub';
  const subject = claimAt(payload, subjectClaim);
  // A subject is an id decisions and records name: padded, with control characters or lone surrogates, it is none.
  if (typeof subject !== 'string' || subject.length > 256 || idProblem(subject) !== undefined || INVISIBLE.test(subject))
    return { ok: false, reason: kind === 'agent' ? 'no_agent_id' : 'no_subject' };
  // INVARIANT: the proxy's privileges are bound to its configured service token; no JWT holds them.
  if (kind === 'service' && subject === RESERVED_SERVICE_SUBJECT) return { ok: false, reason: 'reserved_subject' };
  // INVARIANT: only a human becomes an admin through a role; an agent or a service never does.
  const admin = kind === 'human' && roles.includes(options.adminRole ?? 'argus-admin');
  return { ok: true, principal: { subject, roles, kind: admin ? 'admin' : kind } };
}

/** A JSON Pointer segment for a token id (`/` and `~` escaped). */
function pointerSegment(id: string): string {
  return id.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Every token the configured tables list more than once: the admin token, the service, scanner and
 * agent tables, and the agent tokens listed by hash (compared by SHA-256). One issue per repeat,
 * at its path relative to the `auth` section, naming the first place (as `/auth/...`) and never
 * the token. A token listed twice would answer as whichever table is read first, so a credential
 * would no longer map to exactly one caller: such a configuration is refused.
 */
export function duplicateTokenIssues(
  auth: Pick<AuthenticatorOptions, 'adminToken' | 'serviceTokens' | 'scannerTokens' | 'agentTokens' | 'agentTokenHashes'>,
): ErrorDetail[] {
  const listed: Array<{ path: string; sha256: string }> = [];
  const add = (path: string, token: unknown) => {
    if (typeof token === 'string' && token !== '') listed.push({ path, sha256: sha256Hex(token) });
  };
  add('/adminToken', auth.adminToken);
  for (const table of ['serviceTokens', 'scannerTokens', 'agentTokens'] as const)
    for (const [id, token] of Object.entries(auth[table] ?? {})) add(`/${table}/${pointerSegment(id)}`, token);
  for (const [i, t] of (auth.agentTokenHashes ?? []).entries())
    if (typeof t.sha256 === 'string' && /^[0-9a-f]{64}$/i.test(t.sha256))
      listed.push({ path: `/agentTokenHashes/${i}/sha256`, sha256: t.sha256.toLowerCase() });
  const first = new Map<string, string>();
  const issues: ErrorDetail[] = [];
  for (const { path, sha256 } of listed) {
    const earlier = first.get(sha256);
    if (earlier === undefined) first.set(sha256, path);
    else issues.push({ path, message: `the same token as \`/auth${earlier}\`: a token is one credential of one caller` });
  }
  return issues;
}

/**
 * Whether a verified JWT's times are believable (`jose` checks `exp` and `nbf`, and `iat` only
 * against a maximum age): not issued in the future beyond `toleranceSec` (a token minted a year
 * ahead would outlive any revocation of its key), and, with `maxLifetimeSec`, not living longer
 * than it from `iat` (from now without `iat`) to `exp`.
 */
function withinLifetime(payload: JWTPayload, toleranceSec: number, maxLifetimeSec: number | undefined): boolean {
  const now = Math.floor(Date.now() / 1000);
  if (payload.iat !== undefined && payload.iat > now + toleranceSec) return false;
  if (maxLifetimeSec === undefined) return true;
  return payload.exp! - Math.min(payload.iat ?? now, now) <= maxLifetimeSec + toleranceSec;
}

/**
 * Builds an authenticator over static tokens (admin, services, scanners, agents), Argus-issued
 * agent tokens (by hash) and, optionally, JWTs verified against a JWKS and mapped to a kind by
 * the configured claims. Static tokens are compared in constant time over their sha256 digests,
 * and every configured token is compared on every call, so timing reveals neither the token nor
 * which table it was found in.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const tokens: StaticToken[] = [];
  const add = (token: string | undefined, principal: AuthPrincipal, path: string) => {
    if (token === undefined) return;
    if (typeof token !== 'string' || token.length === 0)
      throw new ConfigError('empty token', [{ path, message: 'must be a non-empty string' }]);
    tokens.push({ digest: digest(token), principal });
  };
  add(options.adminToken, { subject: 'admin', roles: ['admin'], kind: 'admin' }, '/auth/adminToken');
  for (const [id, token] of Object.entries(options.serviceTokens ?? {}))
    add(token, { subject: id, roles: ['service'], kind: 'service' }, `/auth/serviceTokens/${id}`);
  for (const [id, token] of Object.entries(options.scannerTokens ?? {}))
    add(token, { subject: id, roles: ['scanner'], kind: 'scanner' }, `/auth/scannerTokens/${id}`);
  for (const [id, token] of Object.entries(options.agentTokens ?? {}))
    add(token, { subject: id, roles: ['agent'], kind: 'agent' }, `/auth/agentTokens/${id}`);
  const repeated = duplicateTokenIssues(options);
  if (repeated.length > 0)
    throw new ConfigError(
      'a token is listed twice',
      repeated.map((e) => ({ path: `/auth${e.path}`, message: e.message })),
    );
  const hashed = new Map<string, string>();
  for (const [i, t] of (options.agentTokenHashes ?? []).entries()) {
    if (!/^[0-9a-f]{64}$/i.test(t.sha256))
      throw new ConfigError('agent token hash is not a SHA-256', [
        { path: `/auth/agentTokenHashes/${i}/sha256`, message: 'expected 64 hex digits' },
      ]);
    hashed.set(t.sha256.toLowerCase(), t.agent);
  }

  let keySet: JWTVerifyGetKey | undefined;
  const jwks = options.jwks;
  if (jwks) {
    if ((jwks.url === undefined) === (jwks.keys === undefined)) {
      throw new ConfigError('JWKS needs exactly one of `url` or `keys`', [
        { path: '/auth/jwks', message: 'set exactly one of `url` or `keys`' },
      ]);
    }
    if (jwks.url !== undefined) {
      let url: URL;
      try {
        url = new URL(jwks.url);
      } catch {
        throw new ConfigError('JWKS URL is not a URL', [{ path: '/auth/jwks/url', message: 'must be an absolute http(s) URL' }]);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new ConfigError('JWKS URL must be http(s)', [{ path: '/auth/jwks/url', message: 'must be http(s)' }]);
      keySet = createRemoteJWKSet(url, { timeoutDuration: jwks.timeoutMs ?? 2_000 });
    } else {
      keySet = createLocalJWKSet(jwks.keys!);
    }
    const bad = (jwks.algorithms ?? []).find((a) => !DEFAULT_JWT_ALGORITHMS.includes(a));
    if (bad !== undefined)
      throw new ConfigError(`JWT algorithm \`${bad}\` is not accepted`, [
        { path: '/auth/jwks/algorithms', message: 'asymmetric JWS algorithms only' },
      ]);
  }
  const algorithms = [...(jwks?.algorithms ?? DEFAULT_JWT_ALGORITHMS)];
  const clockTolerance = jwks?.clockToleranceSec ?? 30;

  /** An Argus-issued agent token: `config` when the configuration lists its hash (fixed), `store` when the secrets store knows it. */
  const byHash = async (token: string): Promise<{ principal: AuthPrincipal; from: 'config' | 'store' } | undefined> => {
    if (!token.startsWith(ARGUS_AGENT_TOKEN_PREFIX) || (hashed.size === 0 && !options.lookupAgentToken)) return undefined;
    const hash = sha256Hex(token);
    const configured = hashed.get(hash);
    const agent = configured ?? (options.lookupAgentToken ? await options.lookupAgentToken(hash) : undefined);
    if (agent === undefined) return undefined;
    return { principal: { subject: agent, roles: ['agent'], kind: 'agent' }, from: configured !== undefined ? 'config' : 'store' };
  };

  // Credentials that matched the configured tables, by their text, so a caller presenting the same
  // token again is not hashed and compared again (a SHA-256 and a comparison per configured token
  // on every decision). The tables are fixed for the life of this authenticator (a configuration
  // change builds another), so an entry never goes stale, and the map holds at most one entry per
  // configured token. Never cached: a token the secrets store answers for (it can be revoked there
  // at any time) and a JWT (it expires).
  // INVARIANT: only a token that authenticated is a key, so a lookup that misses tells nothing
  // about how close the presented token is to a valid one; the full comparison then runs as before.
  const known = new Map<string, AuthPrincipal>();
  const answer = (principal: AuthPrincipal): AuthResult => ({ ok: true, principal: { ...principal, roles: [...principal.roles] } });

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' };
      const match = /^Bearer[ ]+([\x21-\x7e]{1,8192})$/i.exec(authorization.trim());
      if (!match) return { ok: false, reason: 'malformed' };
      const token = match[1]!;
      const remembered = known.get(token);
      if (remembered) return answer(remembered);
      const presented = digest(token);
      let found: AuthPrincipal | undefined;
      for (const t of tokens) {
        // INVARIANT: no early exit, so the time taken does not depend on which token matched.
        if (timingSafeEqual(t.digest, presented) && found === undefined) found = t.principal;
      }
      if (found) {
        known.set(token, found);
        return answer(found);
      }
      try {
        const agent = await byHash(token);
        if (agent?.from === 'config') known.set(token, agent.principal);
        if (agent) return answer(agent.principal);
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (keySet && looksLikeJwt(token)) {
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(token, keySet, {
            ...(jwks?.issuer !== undefined ? { issuer: jwks.issuer } : {}),
            ...(jwks?.audience !== undefined ? { audience: jwks.audience } : {}),
            algorithms,
            clockTolerance,
            // INVARIANT: every JWT expires; one without `exp` would be valid forever.
            requiredClaims: ['exp'],
          }));
        } catch {
          // Bad signature, expired, no `exp`, wrong issuer/audience, `alg: none`, or the JWKS could not be fetched: all fail closed.
          return { ok: false, reason: 'invalid' };
        }
        if (!withinLifetime(payload, clockTolerance, jwks?.maxTokenLifetimeSec)) return { ok: false, reason: 'invalid' };
        return claimsPrincipal(payload, {
          ...(jwks?.claims ? { claims: jwks.claims } : {}),
          ...(jwks?.adminRole !== undefined ? { adminRole: jwks.adminRole } : {}),
          ...(jwks?.rolesClaim !== undefined ? { rolesClaim: jwks.rolesClaim } : {}),
        });
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

/** The 401 for a refused credential, naming why without echoing it. */
export function credentialError(reason: AuthFailure): UnauthorizedError {
  if (reason === 'missing') return new UnauthorizedError('missing credential');
  if (reason === 'malformed') return new UnauthorizedError('malformed credential: expected `Authorization: Bearer <token>`');
  if (reason === 'unknown_kind') return new UnauthorizedError('invalid credential: the token does not say which kind of caller holds it');
  if (reason === 'no_agent_id')
    return new UnauthorizedError(
      'invalid credential: the agent token carries no usable agent id claim (`auth.jwks.claims.agentId`, default `sub`: 1 to 256 characters, not padded, no control or invisible characters)',
    );
  if (reason === 'no_subject')
    return new UnauthorizedError(
      'invalid credential: the token carries no usable `sub` claim (1 to 256 characters, not padded, no control or invisible characters)',
    );
  if (reason === 'reserved_subject')
    return new UnauthorizedError(
      `invalid credential: the service \`${RESERVED_SERVICE_SUBJECT}\` authenticates with its service token (\`auth.serviceTokens.${RESERVED_SERVICE_SUBJECT}\`), never with a JWT`,
    );
  return new UnauthorizedError('invalid credential');
}

/** The `www-authenticate` challenge sent with every 401. */
export const BEARER_CHALLENGE = 'Bearer realm="argus"';

/** What {@link authorizationOf} answers for a request with several `Authorization` headers: no token matches it. */
export const AMBIGUOUS_AUTHORIZATION = 'ambiguous: several Authorization headers';

/**
 * The request's `Authorization` header as the authenticators read it. Node keeps the first of
 * several and drops the rest; a request carrying more than one is answered as a malformed
 * credential instead (401): a caller has one identity, never settled by picking one of them.
 */
export function authorizationOf(req: Pick<IncomingMessage, 'headers'> & { rawHeaders?: string[] }): string | undefined {
  const raw = req.rawHeaders ?? [];
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return AMBIGUOUS_AUTHORIZATION;
  }
  return req.headers.authorization;
}

function unauthorized(res: Response, next: NextFunction, reason: AuthFailure): void {
  res.setHeader('www-authenticate', BEARER_CHALLENGE);
  next(credentialError(reason));
}

function guard(auth: Authenticator, allowed: (p: AuthPrincipal) => boolean, denied: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // The permission guard in front of the app already authenticated this request: reuse its answer.
    const known = res.locals.principal as AuthPrincipal | undefined;
    if (known) return allowed(known) ? next() : next(new ForbiddenError(denied));
    auth.authenticate(authorizationOf(req)).then(
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
  return guard(
    auth,
    (p) => p.kind === 'admin' || p.roles.some((r) => roles.includes(r)),
    `requires one of the roles ${roles.map((r) => `\`${r}\``).join(', ')}`,
  );
}

/** The `auth` section of the Argus configuration (`schemas/config/argus.schema.json`). */
export interface AuthConfig {
  adminToken?: string;
  serviceTokens?: Record<string, string>;
  scannerTokens?: Record<string, string>;
  agentTokens?: Record<string, string>;
  agentTokenHashes?: Array<{ agent: string; sha256: string }>;
  /** Legacy flat JWKS keys (`ARGUS_JWKS_URL`); `jwks` wins where both are set. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  adminRole: string;
  jwks?: {
    url?: string;
    issuer?: string;
    audience?: string;
    algorithms?: string[];
    clockToleranceSec?: number;
    maxTokenLifetimeSec?: number;
    claims?: JwtClaimMapping;
  };
  /** `required`: every decision caller authenticates; `open`: anonymous decisions, side effects skipped. */
  decisions: 'required' | 'open';
}

/** The authenticator options an `auth` configuration section describes. */
export function authenticatorOptionsFrom(auth: Partial<AuthConfig>): AuthenticatorOptions {
  const url = auth.jwks?.url ?? auth.jwksUrl;
  const issuer = auth.jwks?.issuer ?? auth.issuer;
  const audience = auth.jwks?.audience ?? auth.audience;
  return {
    ...(auth.adminToken ? { adminToken: auth.adminToken } : {}),
    ...(auth.serviceTokens ? { serviceTokens: { ...auth.serviceTokens } } : {}),
    ...(auth.scannerTokens ? { scannerTokens: { ...auth.scannerTokens } } : {}),
    ...(auth.agentTokens ? { agentTokens: { ...auth.agentTokens } } : {}),
    ...(auth.agentTokenHashes ? { agentTokenHashes: auth.agentTokenHashes.map((t) => ({ ...t })) } : {}),
    ...(url
      ? {
          jwks: {
            url,
            ...(issuer !== undefined ? { issuer } : {}),
            ...(audience !== undefined ? { audience } : {}),
            ...(auth.adminRole !== undefined ? { adminRole: auth.adminRole } : {}),
            ...(auth.jwks?.algorithms ? { algorithms: [...auth.jwks.algorithms] } : {}),
            ...(auth.jwks?.clockToleranceSec !== undefined ? { clockToleranceSec: auth.jwks.clockToleranceSec } : {}),
            ...(auth.jwks?.maxTokenLifetimeSec !== undefined ? { maxTokenLifetimeSec: auth.jwks.maxTokenLifetimeSec } : {}),
            ...(auth.jwks?.claims ? { claims: structuredClone(auth.jwks.claims) } : {}),
          },
        }
      : {}),
  };
}
