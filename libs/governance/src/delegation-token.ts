/**
 * The portable form of a delegation chain: a JWS (EdDSA / Ed25519) an agent can carry.
 *
 * Claims, in the style of RFC 8693 token exchange: `sub` is the principal agent (`Agent::"id"`);
 * `act` names the entity that delegated to it, with the grant of that hop; each `act` nests the
 * `act` of the hop before it, down to the root Human, which has no `act`:
 *
 * ```
 * { "sub": "Agent::\"support-bot\"", "exp": ...,
 *   "act": { "sub": "Agent::\"planner\"", "grant": "g2", "scope": {...}, "grant_exp": "...",
 *            "act": { "sub": "Human::\"alice\"", "grant": "g1", "scope": {...}, "grant_exp": "..." } },
 *   "grants": ["g1", "g2"] }
 * ```
 *
 * Verification is stateless (signature, `exp`, issuer, audience, shape). The caller then checks
 * the returned grant ids against revocations and runs `verifyChain` over `grants` for the
 * structural rules (subset, depth, expiry, cycles).
 */
import type { DenyCode, EntityRef } from '@argus/contracts';
import { errors as joseErrors, jwtVerify, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose';
import type { Grant, HopFact } from './delegation-chain.ts';
import { isValidActionPattern, isValidResourcePattern, type Scope } from './scope.ts';
import { toMillis, type Instant } from './time.ts';
import { formatUid, parseUid } from './uid.ts';

/** A key jose accepts: a WebCrypto `CryptoKey`, a Node `KeyObject` or a JWK. */
export type TokenKey = CryptoKey | KeyObject | JWK;

/** The `typ` header of a delegation token. */
export const DELEGATION_TOKEN_TYPE = 'argus-delegation+jwt';

/** What `signDelegationToken` needs. */
export interface SignDelegationTokenInput {
  /** The verified hops, root first (as `verifyChain` returns them). */
  hops: readonly HopFact[];
  /** An Ed25519 private key. */
  privateKey: TokenKey;
  now: Instant;
  /** Token lifetime; the token never outlives its shortest-lived grant. */
  ttlSeconds: number;
  issuer: string;
  audience?: string;
  kid?: string;
  /** A unique token id (`jti`), passed in: the library generates no ids. */
  tokenId?: string;
}

/** One `act` level of the token. */
interface ActClaim {
  sub: string;
  grant: string;
  scope: Scope;
  grant_exp: string;
  max_depth?: number;
  act?: ActClaim;
}

/**
 * Signs a delegation token for a verified chain. The token expires at the earliest of
 * `now + ttlSeconds` and every hop's expiry.
 */
export async function signDelegationToken(input: SignDelegationTokenInput): Promise<string> {
  const { hops } = input;
  const last = hops[hops.length - 1];
  if (!last) throw new Error('a delegation token needs at least one hop');
  const nowSec = Math.floor(toMillis(input.now) / 1000);
  const hopExp = Math.min(...hops.map((h) => Math.floor(Date.parse(h.expiresAt) / 1000)));
  const exp = Math.min(nowSec + input.ttlSeconds, hopExp);
  let act: ActClaim | undefined;
  for (const h of hops) {
    act = {
      sub: formatUid(h.from),
      grant: h.grantId,
      scope: { actions: [...h.scope.actions], resources: [...h.scope.resources] },
      grant_exp: h.expiresAt,
      ...(h.maxDepth === undefined ? {} : { max_depth: h.maxDepth }),
      ...(act ? { act } : {}),
    };
  }
  const jwt = new SignJWT({ act, grants: hops.map((h) => h.grantId) })
    .setProtectedHeader({ alg: 'EdDSA', typ: DELEGATION_TOKEN_TYPE, ...(input.kid ? { kid: input.kid } : {}) })
    .setSubject(formatUid(last.to))
    .setIssuer(input.issuer)
    .setIssuedAt(nowSec)
    .setExpirationTime(exp);
  if (input.audience) jwt.setAudience(input.audience);
  if (input.tokenId) jwt.setJti(input.tokenId);
  return jwt.sign(input.privateKey);
}

/** What `verifyDelegationToken` needs. */
export interface VerifyDelegationTokenInput {
  token: string;
  /** The Ed25519 public key (or a list, for key rotation: any one may verify). */
  publicKey: TokenKey | readonly TokenKey[];
  issuer: string;
  audience?: string;
  now: Instant;
  /** Refuse tokens with more hops than this before doing any further work. */
  maxDepth: number;
  /**
   * Clock skew tolerated past `exp`, in seconds (default {@link DEFAULT_TOKEN_CLOCK_TOLERANCE_SECONDS}:
   * none). The deployment that verifies a token issued it, on the same clock or one kept within
   * NTP's milliseconds, so a token is refused from the `expiresAt` its issuer answered.
   */
  clockToleranceSeconds?: number;
}

/** Default skew tolerated past a delegation token's `exp`: none (see `governance.tokenClockToleranceSeconds`). */
export const DEFAULT_TOKEN_CLOCK_TOLERANCE_SECONDS = 0;

/** A token whose signature and shape hold. Revocation and chain rules are still to be checked. */
export interface TokenOk {
  ok: true;
  principal: EntityRef;
  /** Root Human first, ending at the principal. */
  chain: EntityRef[];
  /** One grant per hop, as the token states it (`status: 'active'`; revocation is the caller's check). */
  grants: Grant[];
  grantIds: string[];
  /** ISO-8601 expiry of the token. */
  expiresAt: string;
}

/** Stable codes of a token that does not verify (catalogued in `@argus/contracts`). */
export type TokenCode = Extract<DenyCode, 'delegation_token_invalid' | 'delegation_token_expired' | 'delegation_depth_exceeded'>;

/** A token that does not verify. */
export interface TokenFailure {
  ok: false;
  code: TokenCode;
  message: string;
}

/** The tagged answer of `verifyDelegationToken`. */
export type TokenResult = TokenOk | TokenFailure;

/** Verifies a delegation token statelessly. Never throws for a bad token. */
export async function verifyDelegationToken(input: VerifyDelegationTokenInput): Promise<TokenResult> {
  const keys: readonly TokenKey[] = Array.isArray(input.publicKey) ? input.publicKey : [input.publicKey as TokenKey];
  let payload: Record<string, unknown> | undefined;
  let lastError: unknown;
  for (const key of keys) {
    try {
      const verified = await jwtVerify(input.token, key, {
        algorithms: ['EdDSA', 'Ed25519'],
        issuer: input.issuer,
        ...(input.audience ? { audience: input.audience } : {}),
        typ: DELEGATION_TOKEN_TYPE,
        currentDate: new Date(toMillis(input.now)),
        clockTolerance: input.clockToleranceSeconds ?? DEFAULT_TOKEN_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      payload = verified.payload as Record<string, unknown>;
      break;
    } catch (err) {
      lastError = err;
      if (err instanceof joseErrors.JWTExpired)
        return { ok: false, code: 'delegation_token_expired', message: 'delegation token has expired' };
      if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
    }
  }
  if (!payload) return { ok: false, code: 'delegation_token_invalid', message: `delegation token does not verify: ${describe(lastError)}` };
  return readClaims(payload, input.maxDepth);
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JOSEError) return err.code.toLowerCase().replace(/^err_/, '').replace(/_/g, ' ');
  return 'malformed token';
}

function invalid(message: string): TokenFailure {
  return { ok: false, code: 'delegation_token_invalid', message };
}

/** Reads the nested `act` claims into a chain and per-hop grants, validating every field. */
function readClaims(payload: Record<string, unknown>, maxDepth: number): TokenResult {
  const principal = typeof payload.sub === 'string' ? parseUid(payload.sub) : undefined;
  if (!principal) return invalid('`sub` is not an entity uid');
  const levels: ActClaim[] = [];
  let act: unknown = payload.act;
  while (act !== undefined) {
    if (levels.length >= maxDepth) {
      return { ok: false, code: 'delegation_depth_exceeded', message: `delegation token carries more than ${maxDepth} hop(s)` };
    }
    const level = readAct(act);
    if (typeof level === 'string') return invalid(`act at depth ${levels.length + 1}: ${level}`);
    levels.push(level);
    act = (act as { act?: unknown }).act;
  }
  if (levels.length === 0) return invalid('token carries no `act` claim');
  // levels[0] delegated to the principal; the last level is the root.
  const chain: EntityRef[] = [principal];
  for (const level of levels) chain.unshift(parseUid(level.sub)!);
  const grants: Grant[] = levels
    .map((level, i): Grant => ({
      id: level.grant,
      from: parseUid(level.sub)!,
      to: chain[chain.length - 1 - i]!,
      scope: level.scope,
      expiresAt: level.grant_exp,
      status: 'active',
      ...(level.max_depth === undefined ? {} : { maxDepth: level.max_depth }),
    }))
    .reverse();
  const listed = payload.grants;
  const grantIds = grants.map((g) => g.id);
  if (!Array.isArray(listed) || listed.length !== grantIds.length || listed.some((id, i) => id !== grantIds[i])) {
    return invalid('`grants` does not list the grants of the `act` chain');
  }
  return { ok: true, principal, chain, grants, grantIds, expiresAt: new Date(Number(payload.exp) * 1000).toISOString() };
}

function readAct(value: unknown): ActClaim | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.sub !== 'string' || !parseUid(v.sub)) return '`sub` is not an entity uid';
  if (typeof v.grant !== 'string' || v.grant.length === 0) return '`grant` is missing';
  if (typeof v.grant_exp !== 'string' || Number.isNaN(Date.parse(v.grant_exp))) return '`grant_exp` is not a timestamp';
  if (v.max_depth !== undefined && !(Number.isInteger(v.max_depth) && (v.max_depth as number) >= 1))
    return '`max_depth` is not a positive integer';
  const scope = v.scope as Record<string, unknown> | undefined;
  if (
    typeof scope !== 'object' ||
    scope === null ||
    !Array.isArray(scope.actions) ||
    !Array.isArray(scope.resources) ||
    !scope.actions.every((a) => typeof a === 'string' && isValidActionPattern(a)) ||
    !scope.resources.every((r) => typeof r === 'string' && isValidResourcePattern(r))
  ) {
    return '`scope` is malformed';
  }
  return {
    sub: v.sub,
    grant: v.grant,
    grant_exp: v.grant_exp,
    scope: { actions: scope.actions as string[], resources: scope.resources as string[] },
    ...(v.max_depth === undefined ? {} : { max_depth: v.max_depth as number }),
  };
}

/**
 * A grant lookup over a verified token's grants, marking revoked the ids `isRevoked` names, so
 * `verifyChain` reports `delegation_revoked` for them.
 */
export function tokenGrantLookup(
  token: TokenOk,
  isRevoked: (grantId: string) => boolean,
): (from: EntityRef, to: EntityRef) => Grant | undefined {
  const byEdge = new Map(token.grants.map((g) => [`${formatUid(g.from)}>${formatUid(g.to)}`, g] as const));
  return (from, to) => {
    const g = byEdge.get(`${formatUid(from)}>${formatUid(to)}`);
    return g && isRevoked(g.id) ? { ...g, status: 'revoked' } : g;
  };
}
