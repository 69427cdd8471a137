import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AMBIGUOUS_AUTHORIZATION, authorizationOf, sha256Hex } from '@argus/platform';
import type { SecretsBroker } from '@argus/secrets';
import type { ProxyConfig } from './config.ts';

/** Who is calling, as proven by a credential the proxy verified. */
export interface AgentIdentity {
  agent: string;
  /** How the identity was proven. */
  via: 'agent-token' | 'jwt';
}

/** Verifies the caller of one request; undefined when no valid credential was presented. */
export type Authenticate = (req: IncomingMessage) => Promise<AgentIdentity | undefined>;

/** Argus agent tokens start with this prefix. */
export const AGENT_TOKEN_PREFIX = 'argus_';

/** The SHA-256 (hex) of an agent token: what the configuration stores. */
export function hashAgentToken(token: string): string {
  return sha256Hex(token);
}

/** Options of `createAuthenticator`. */
export interface AuthenticatorOptions {
  auth: ProxyConfig['auth'];
  /** Looks tokens up in secrets named `<agentTokenSecretPrefix><agent>`. */
  secrets?: SecretsBroker;
  /** A key source for JWTs other than the configured JWKS URL (tests, pinned keys). */
  jwks?: JWTVerifyGetKey;
  /** How long the token table read from the secrets store is reused. Default 10 s. */
  refreshMs?: number;
}

/**
 * Builds the proxy's authenticator: `Authorization: Bearer argus_...` is an agent token (matched
 * by hash against the configuration and the secrets store); any other bearer is a JWT verified
 * against the JWKS, with the agent id taken from the configured claim. Identity is never read
 * from the request body.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate & { refresh(): Promise<void> } {
  const { auth } = options;
  const fromConfig = new Map(auth.agentTokens.map((t) => [t.sha256, t.agent]));
  let fromSecrets = new Map<string, string>();
  let loadedAt = -Infinity;
  const refreshMs = options.refreshMs ?? 10_000;
  const jwks =
    options.jwks ??
    (auth.jwt ? createRemoteJWKSet(new URL(auth.jwt.jwksUrl), { timeoutDuration: 2000, cooldownDuration: 30_000 }) : undefined);

  async function refresh(): Promise<void> {
    loadedAt = Date.now();
    const prefix = auth.agentTokenSecretPrefix;
    if (!options.secrets || prefix === '') return;
    const next = new Map<string, string>();
    for (const meta of await options.secrets.list()) {
      if (!meta.name.startsWith(prefix)) continue;
      const resolved = await options.secrets.resolve(meta.name);
      if (resolved) next.set(hashAgentToken(resolved.value), meta.name.slice(prefix.length));
    }
    fromSecrets = next;
  }

  // Tokens that matched the configuration, by their text: a call presenting one again is not
  // hashed again (a SHA-256 per call). The configuration is fixed for the life of this
  // authenticator, so an entry never goes stale, and the map holds at most one entry per configured
  // token. Never remembered: a token the secrets store answers for (it can be revoked there) and a
  // JWT (it expires). INVARIANT: only a token that matched is a key; any other is hashed as before.
  const known = new Map<string, string>();

  async function byToken(token: string): Promise<AgentIdentity | undefined> {
    const remembered = known.get(token);
    if (remembered !== undefined) return { agent: remembered, via: 'agent-token' };
    const hash = hashAgentToken(token);
    let agent = lookup(fromConfig, hash);
    if (agent !== undefined) known.set(token, agent);
    if (agent === undefined && options.secrets && auth.agentTokenSecretPrefix !== '') {
      if (Date.now() - loadedAt > refreshMs) await refresh();
      agent = lookup(fromSecrets, hash);
    }
    return agent === undefined ? undefined : { agent, via: 'agent-token' };
  }

  async function byJwt(token: string): Promise<AgentIdentity | undefined> {
    if (!jwks || !auth.jwt) return undefined;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        ...(auth.jwt.issuer !== undefined ? { issuer: auth.jwt.issuer } : {}),
        ...(auth.jwt.audience !== undefined ? { audience: auth.jwt.audience } : {}),
        ...(auth.jwt.algorithms !== undefined ? { algorithms: auth.jwt.algorithms } : {}),
        clockTolerance: auth.jwt.clockToleranceSec,
      });
      const agent = payload[auth.jwt.agentClaim];
      return typeof agent === 'string' && agent.length > 0 && agent.length <= 256 ? { agent, via: 'jwt' } : undefined;
    } catch {
      return undefined;
    }
  }

  const authenticate = async (req: IncomingMessage): Promise<AgentIdentity | undefined> => {
    const header = authorizationOf(req);
    if (header === AMBIGUOUS_AUTHORIZATION) return undefined;
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,8192})\s*$/i.exec(header) : null;
    // Anthropic clients send their key as x-api-key; an Argus token there authenticates too.
    const apiKey = req.headers['x-api-key'];
    const keyToken = typeof apiKey === 'string' && apiKey.startsWith(AGENT_TOKEN_PREFIX) ? apiKey : undefined;
    // INVARIANT: a caller has exactly one identity: two different credentials (a bearer and an
    // Argus token as x-api-key) are refused, never settled by picking one of them.
    if (match && keyToken !== undefined && keyToken !== match[1]) return undefined;
    const token = match?.[1] ?? keyToken;
    if (token === undefined) return undefined;
    return token.startsWith(AGENT_TOKEN_PREFIX) ? byToken(token) : byJwt(token);
  };
  return Object.assign(authenticate, { refresh });
}

// Tokens are compared by their SHA-256: a lookup's timing reveals nothing usable about the token.
function lookup(table: Map<string, string>, hash: string): string | undefined {
  return table.get(hash);
}
