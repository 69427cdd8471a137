/**
 * The registry's configuration sections: `registry` in the Argus configuration file (how the
 * decision point treats the registry), and the standalone registry service's own configuration,
 * read from the environment through the same section mechanism as every other file.
 */
import { defineSection, standaloneConfigFile, type EnvTable } from '@argus/platform';
import { DEFAULT_STORE_URL, storeSection, type StoreConfig } from '@argus/store';

/** `registry` in the Argus configuration file (`schemas/config/registry.schema.json`). */
export interface RegistryPolicyConfig {
  /** An Agent principal the registry does not know is a hard deny `agent_unknown`. */
  requireRegistered: boolean;
  /** Lease an agent gets from its own traffic. */
  trafficLeaseTtlMs: number;
}

/** `registry` (no environment override). */
export const registryPolicySection = defineSection<RegistryPolicyConfig>({
  key: 'registry',
  schemaId: 'https://argus.dev/schemas/config/registry.json',
});

/** The standalone registry configuration (`schemas/registry/config.schema.json`), frozen after validation. */
export interface RegistryConfig {
  port: number;
  host: string;
  /** The same `store` section the Argus configuration file has. */
  store: StoreConfig;
  adminToken?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwtAdminRole: string;
  scannerTokens?: Record<string, string>;
  agentTokens?: Record<string, string>;
  /** Service credentials by service id (e.g. `proxy`, which reports live MCP tool lists). */
  serviceTokens?: Record<string, string>;
  onToolChange: 'pending' | 'quarantined';
  /** The service's limits (`RegistryLimits`) and its shutdown grace. */
  limits: { maxBodyBytes: number; maxJsonDepth: number; maxTools: number; defaultLeaseTtlMs: number; shutdownGraceMs: number };
}

/** The `store` section's own overrides, under `/store`. */
const STORE_ENV: EnvTable = Object.fromEntries(
  Object.entries(storeSection.env).map(([name, o]) => [name, { pointer: `/store${o.pointer}`, type: o.type }]),
);

/**
 * The standalone registry service. Token maps read `id=token,id2=token2` or a JSON object from
 * the environment.
 */
export const registryServiceSection = defineSection<RegistryConfig>({
  key: 'registry',
  schemaId: 'https://argus.dev/schemas/registry/config.json',
  env: {
    PORT: { pointer: '/port', type: 'integer' },
    HOST: { pointer: '/host', type: 'string' },
    ...STORE_ENV,
    ARGUS_ADMIN_TOKEN: { pointer: '/adminToken', type: 'string' },
    ARGUS_JWKS_URL: { pointer: '/jwksUrl', type: 'string' },
    ARGUS_JWT_ISSUER: { pointer: '/jwtIssuer', type: 'string' },
    ARGUS_JWT_AUDIENCE: { pointer: '/jwtAudience', type: 'string' },
    ARGUS_SCANNER_TOKENS: { pointer: '/scannerTokens', type: 'token-map' },
    ARGUS_AGENT_TOKENS: { pointer: '/agentTokens', type: 'token-map' },
    ARGUS_SERVICE_TOKENS: { pointer: '/serviceTokens', type: 'token-map' },
    ARGUS_REGISTRY_ON_TOOL_CHANGE: { pointer: '/onToolChange', type: 'string' },
  },
});

/** The standalone registry's configuration: environment only (`base` stands for a file). */
export const REGISTRY_CONFIG_FILE = standaloneConfigFile(registryServiceSection);

/**
 * Builds the configuration from `base` with the environment overrides of
 * {@link registryServiceSection} applied, validates it against the schema and freezes it. A bad
 * value throws `ConfigError` naming the path (never the value).
 */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env, base: Record<string, unknown> = {}): Readonly<RegistryConfig> {
  return REGISTRY_CONFIG_FILE.load({ document: base, env, defaults: { '/store/url': DEFAULT_STORE_URL } });
}
