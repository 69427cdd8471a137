/**
 * Configuration: the section contract and loaders (`config-section.ts`), the sections this library
 * owns (`auth`, `logging`), and the redaction used to print a configuration.
 */
import { duplicateTokenIssues } from './auth.ts';
import { defineSection } from './config-section.ts';

export * from './config-section.ts';

/** The `logging` section (`schemas/config/logging.schema.json`). */
export interface LoggingConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A JWS algorithm Argus accepts for IdP JWTs (asymmetric only). */
export type JwsAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

/**
 * The `auth` section as loaded (`schemas/config/auth.schema.json`, defaults filled in); it is an
 * `AuthConfig` (`auth.ts`), which `authenticatorOptionsFrom` reads.
 */
export interface AuthSectionConfig {
  /** Static admin bearer token (secret). */
  adminToken?: string;
  serviceTokens: Record<string, string>;
  scannerTokens: Record<string, string>;
  agentTokens: Record<string, string>;
  agentTokenHashes: Array<{ agent: string; sha256: string }>;
  jwks?: {
    url?: string;
    issuer?: string;
    audience?: string;
    algorithms?: JwsAlgorithm[];
    clockToleranceSec: number;
    maxTokenLifetimeSec?: number;
    claims: { kind: string; kindValues?: Record<string, 'human' | 'agent' | 'service'>; roles: string; agentId: string };
  };
  /** Legacy flat JWKS keys (`ARGUS_JWKS_URL`); `jwks` wins where both are set. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  adminRole: string;
  decisions: 'required' | 'open';
}

/** `auth`: the credentials the decision API accepts (`schemas/config/auth.schema.json`). */
export const authSection = defineSection<AuthSectionConfig>({
  key: 'auth',
  schemaId: 'https://argus.dev/schemas/config/auth.json',
  env: {
    ARGUS_ADMIN_TOKEN: { pointer: '/adminToken', type: 'string' },
    ARGUS_JWKS_URL: { pointer: '/jwksUrl', type: 'string' },
    ARGUS_AUTH_DECISIONS: { pointer: '/decisions', type: 'string' },
    ARGUS_PROXY_SERVICE_TOKEN: { pointer: '/serviceTokens/proxy', type: 'string' },
  },
  // A token listed in two places (or twice in one) would answer as whichever is read first.
  check: (auth) => duplicateTokenIssues(auth),
});

/** `logging` (`schemas/config/logging.schema.json`). */
export const loggingSection = defineSection<LoggingConfig>({
  key: 'logging',
  schemaId: 'https://argus.dev/schemas/config/logging.json',
  env: { ARGUS_LOG_LEVEL: { pointer: '/level', type: 'string' } },
});

/** Key names whose string values are secrets: never printed, never echoed in an error. */
const SECRET_KEY = /(token|secret|password|passphrase|privatekey|apikey|credential)$/i;

/** Key names whose values are maps of id → secret (`serviceTokens`, `scannerTokens`, `agentTokens`). */
const SECRET_MAP_KEY = /tokens$/i;

/** A copy of `config` with every secret-named string value replaced by `[redacted]`, for printing. */
export function redactConfig(config: unknown, secretValues = false): unknown {
  if (Array.isArray(config)) return config.map((v) => redactConfig(v));
  if (config === null || typeof config !== 'object') return config;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (SECRET_MAP_KEY.test(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = redactConfig(v, true);
      continue;
    }
    out[k] =
      typeof v === 'string' && (secretValues || SECRET_KEY.test(k))
        ? '[redacted]'
        : typeof v === 'string' && /^[a-z]+:\/\/[^/@\s]+:[^/@\s]+@/i.test(v)
          ? v.replace(/\/\/([^/@\s:]+):[^/@\s]+@/, '//$1:[redacted]@')
          : redactConfig(v);
  }
  return out;
}
