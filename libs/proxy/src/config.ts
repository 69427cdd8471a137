import { defineSection, parseSection, standaloneConfigFile, type ConfigIssue } from '@argus/platform';
import { auditSection, type AuditConfig } from '@argus/audit';
import type { SecretsConfig } from '@argus/secrets';
import type { ModelPrice } from './prices.ts';

/** The operational routes (health, readiness, metrics): reserved, never an upstream prefix. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

/** True when `url` (path and query) is one of {@link OPS_PATHS}. */
export function isOpsPath(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return (OPS_PATHS as readonly string[]).includes(path);
}

/** The kinds of upstream the proxy understands. */
export type UpstreamKind = 'openai' | 'anthropic' | 'http' | 'mcp';

/** One configured upstream (`schemas/config/proxy.schema.json#/$defs/upstream`). */
export interface UpstreamConfig {
  name: string;
  kind: UpstreamKind;
  prefix: string;
  target: string;
  credential?: { name: string; inject?: 'bearer' | 'x-api-key' | 'header'; header?: string; prefix?: string };
  action: string;
  /** Sensitivity of an http upstream, as the `Api` resource attribute (default `internal`). */
  sensitivity?: 'public' | 'internal' | 'confidential' | 'high' | 'secret';
  timeouts: { connectMs: number; idleMs: number; totalMs: number };
  maxBodyBytes?: number;
  stripHeaders: string[];
}

/** The validated, defaulted and frozen proxy configuration. */
export interface ProxyConfig {
  listen: { host: string; port: number };
  decision: { url?: string; timeoutMs: number; tokenEnv?: string };
  /**
   * The registry the standalone proxy compares MCP tool lists with (the runtime rug-pull check):
   * reads `GET /v1/registry/mcp-servers/{id}`, reports drifts to `.../live-tools` as the service
   * `proxy`. Unset: lists are still filtered by policy, but not compared (a warning at start).
   */
  registry: { url?: string; timeoutMs: number; tokenEnv?: string };
  auth: {
    agentTokens: Array<{ agent: string; sha256: string }>;
    agentTokenSecretPrefix: string;
    jwt?: { jwksUrl: string; issuer?: string; audience?: string; agentClaim: string; algorithms?: string[]; clockToleranceSec: number };
  };
  limits: { maxBodyBytes: number; maxJsonDepth: number; maxBatchSize: number; maxBufferedResponseBytes: number; shutdownGraceMs: number };
  stripHeaders: string[];
  /**
   * What a refused agent is told: `code` (stable codes and the decision id), `reason` (also the
   * forbidding policy's `@reason` in words; the default) or `full` (also policy ids and annotations).
   */
  denyDetail: 'code' | 'reason' | 'full';
  /** Model prices over the shipped table, for the cost charged to goal budgets (`prices.ts`). */
  prices: { models: Record<string, ModelPrice>; unknownModel?: ModelPrice; shippedDefaults: boolean };
  secrets?: SecretsConfig;
  /** The audit trail of the standalone proxy, parsed by the `audit` section. */
  audit?: AuditConfig;
  upstreams: UpstreamConfig[];
}

/** The `$id` of the proxy configuration schema. */
export const PROXY_CONFIG_SCHEMA_ID = 'https://argus.dev/schemas/config/proxy.json';

/** The problems a schema cannot see: duplicate names, overlapping or reserved prefixes, a header injection without its header. */
function upstreamIssues(config: ProxyConfig): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const names = new Map<string, number>();
  const prefixes: Array<{ prefix: string; i: number }> = [];
  config.upstreams.forEach((u, i) => {
    if (names.has(u.name))
      errors.push({ path: `/upstreams/${i}/name`, message: `\`${u.name}\` is already the name of upstream ${names.get(u.name)}` });
    else names.set(u.name, i);
    const overlap = prefixes.find(
      (p) => p.prefix === u.prefix || p.prefix.startsWith(`${u.prefix}/`) || u.prefix.startsWith(`${p.prefix}/`),
    );
    if (overlap)
      errors.push({ path: `/upstreams/${i}/prefix`, message: `overlaps \`${overlap.prefix}\`, the prefix of upstream ${overlap.i}` });
    prefixes.push({ prefix: u.prefix, i });
    if (u.credential?.inject === 'header' && u.credential.header === undefined)
      errors.push({ path: `/upstreams/${i}/credential/header`, message: 'required when inject is `header`' });
    if (isOpsPath(u.prefix)) errors.push({ path: `/upstreams/${i}/prefix`, message: 'reserved path' });
  });
  return errors;
}

/**
 * `proxy` (`schemas/config/proxy.schema.json`): a section of the Argus configuration file for
 * `argus serve`, and the whole file of the standalone proxy, where its environment overrides apply:
 * `ARGUS_PROXY_PORT`, `ARGUS_PROXY_HOST`, `ARGUS_APDP_URL`, `ARGUS_DECISION_TIMEOUT_MS`, `ARGUS_REGISTRY_URL`.
 */
export const proxySection = defineSection<ProxyConfig, true>({
  key: 'proxy',
  schemaId: PROXY_CONFIG_SCHEMA_ID,
  optional: true,
  env: {
    ARGUS_PROXY_HOST: { pointer: '/listen/host', type: 'string' },
    ARGUS_PROXY_PORT: { pointer: '/listen/port', type: 'integer' },
    ARGUS_APDP_URL: { pointer: '/decision/url', type: 'string' },
    ARGUS_DECISION_TIMEOUT_MS: { pointer: '/decision/timeoutMs', type: 'integer' },
    ARGUS_REGISTRY_URL: { pointer: '/registry/url', type: 'string' },
  },
  check(config) {
    const errors = upstreamIssues(config);
    if (config.audit !== undefined) {
      const audit = auditSection.parse(config.audit);
      if (audit.ok) config.audit = audit.value;
      else errors.push(...audit.errors.map((e) => ({ path: `/audit${e.path === '/' ? '' : e.path}`, message: e.message })));
    }
    return errors;
  },
});

/** The standalone proxy's file: the `proxy` section as the whole file. */
export const PROXY_CONFIG_FILE = standaloneConfigFile(proxySection);

/**
 * Validates a raw configuration (defaults filled in) and checks what a schema cannot: unique
 * names and prefixes that do not shadow one another. Throws `ConfigError` naming every path.
 */
export function parseProxyConfig(raw: unknown): Readonly<ProxyConfig> {
  return parseSection(proxySection, raw ?? {});
}

/** Reads a JSON or YAML configuration file, applies the section's environment overrides and validates it. */
export function loadProxyConfig(path: string, env: NodeJS.ProcessEnv = process.env): Readonly<ProxyConfig> {
  return PROXY_CONFIG_FILE.load({ file: path, env });
}
