/**
 * The Argus configuration file (`schemas/config/argus.schema.json`) as the sections it holds. Each
 * section is defined beside the code that reads it — `server`, `policy` and `governance` here,
 * `effects` in `effects/config.ts`, `auth` and `logging` in `@argus/platform`, `store` in
 * `@argus/store`, `audit` in `@argus/audit`, `secrets` in `@argus/secrets`, `registry` in
 * `@argus/registry` — and {@link ARGUS_CONFIG_FILE} is their composition: the one table of environment
 * overrides (the union of the sections' own) and the loader every decision process uses.
 */
import { authSection, composeConfigFile, defineSection, loggingSection, type ConfigOf } from '@argus/platform';
import { auditSection } from '@argus/audit';
import { registryPolicySection } from '@argus/registry';
import { secretsSection } from '@argus/secrets';
import { storeSection } from '@argus/store';
import { effectsSection } from './effects/config.ts';

/** The JSON Schema `$id` of the configuration file every Argus app reads. */
export const CONFIG_SCHEMA_ID = 'https://argus.dev/schemas/config/argus.json';

/** `server`: the decision API's listener and limits (`schemas/config/server.schema.json`). */
export interface ServerConfig {
  host: string;
  port: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxBatchSize: number;
  requestTimeoutMs: number;
  decisionTimeoutMs: number;
  /** The OPA Data API document `POST /` answers. */
  defaultDecision: string;
  shutdownGraceMs: number;
}

/** `policy`: where the Cedar policy set comes from and how it is evaluated (`schemas/config/policy.schema.json`). */
export interface PolicyConfig {
  dir: string;
  watch: boolean;
  reloadDebounceMs: number;
  compiled: boolean;
  verifySample: number;
  decisionMemo: number;
  validateRequest: boolean;
}

/** `governance`: delegation chains, goals, intents (`schemas/config/governance.schema.json`). */
export interface GovernanceConfig {
  maxDelegationDepth: number;
  requireIntent: boolean;
  intentsFile: string;
  /** Ed25519 private key (PEM) that signs delegation tokens. */
  tokenPrivateKeyFile?: string;
  tokenPublicKeyFile?: string;
  /** Clock skew tolerated past a delegation token's `exp` (schema default 0). */
  tokenClockToleranceSeconds: number;
}

/** `server`, with `ARGUS_HOST`, `ARGUS_PORT`, `ARGUS_DECISION_TIMEOUT_MS`. */
export const serverSection = defineSection<ServerConfig>({
  key: 'server',
  schemaId: 'https://argus.dev/schemas/config/server.json',
  env: {
    ARGUS_HOST: { pointer: '/host', type: 'string' },
    ARGUS_PORT: { pointer: '/port', type: 'integer' },
    ARGUS_DECISION_TIMEOUT_MS: { pointer: '/decisionTimeoutMs', type: 'integer' },
  },
});

/** `policy`, with `ARGUS_POLICY_DIR` and `ARGUS_DECISION_MEMO`. */
export const policySection = defineSection<PolicyConfig>({
  key: 'policy',
  schemaId: 'https://argus.dev/schemas/config/policy.json',
  env: {
    ARGUS_POLICY_DIR: { pointer: '/dir', type: 'string' },
    ARGUS_DECISION_MEMO: { pointer: '/decisionMemo', type: 'integer' },
  },
});

/** `governance` (no environment override). */
export const governanceSection = defineSection<GovernanceConfig>({
  key: 'governance',
  schemaId: 'https://argus.dev/schemas/config/governance.json',
});

/**
 * `proxy` as the decision point sees it: validated against its schema, never read (the proxy
 * library, which depends on this one, parses it; `argus serve` loads it typed). Its environment
 * overrides belong to the standalone proxy's file.
 */
const proxyPassThrough = defineSection<Record<string, unknown>, true>({
  key: 'proxy',
  schemaId: 'https://argus.dev/schemas/config/proxy.json',
  optional: true,
});

/** `discover` as the decision point sees it: validated, never read (see `proxy`). */
const discoverPassThrough = defineSection<Record<string, unknown>, true>({
  key: 'discover',
  schemaId: 'https://argus.dev/schemas/config-discover.json',
  optional: true,
});

/** Every section of the Argus configuration file, by key (the order of the schema). */
export const ARGUS_SECTIONS = {
  server: serverSection,
  policy: policySection,
  auth: authSection,
  governance: governanceSection,
  registry: registryPolicySection,
  store: storeSection,
  audit: auditSection,
  secrets: secretsSection,
  proxy: proxyPassThrough,
  discover: discoverPassThrough,
  logging: loggingSection,
  effects: effectsSection,
} as const;

/** The Argus configuration file: its sections, its environment overrides (`ARGUS_CONFIG_FILE.env`) and its loader. */
export const ARGUS_CONFIG_FILE = composeConfigFile(CONFIG_SCHEMA_ID, ARGUS_SECTIONS);

/** The validated, defaulted, frozen Argus configuration: one value per section, typed by the section. */
export type ArgusConfig = ConfigOf<typeof ARGUS_SECTIONS>;
