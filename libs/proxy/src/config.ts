import { readFileSync } from 'node:fs';
import { ConfigError } from '@argus/platform';
import { validatorFor } from '@argus/contracts';
import type { SecretsConfig } from '@argus/secrets';
import type { PricesConfig } from './prices.ts';
import { parse as parseYaml } from 'yaml';

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
  sensitivity?: string;
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
  prices: PricesConfig;
  secrets?: SecretsConfig;
  /** Audit trail configuration (`schemas/config/audit.schema.json`), used by the standalone proxy. */
  audit?: Record<string, unknown>;
  upstreams: UpstreamConfig[];
}

/** The `$id` of the proxy configuration schema. */
export const PROXY_CONFIG_SCHEMA_ID = 'https://argus.dev/schemas/config/proxy.json';

/**
 * Validates a raw configuration (defaults filled in) and checks what a schema cannot: unique
 * names and prefixes that do not shadow one another. Throws `ConfigError` naming the path.
 */
export function parseProxyConfig(raw: unknown): Readonly<ProxyConfig> {
  const copy = structuredClone(raw ?? {});
  const result = validatorFor<ProxyConfig>(PROXY_CONFIG_SCHEMA_ID)(copy);
  if (!result.ok) throw new ConfigError('invalid proxy configuration', result.errors);
  const config = result.value;
  const names = new Map<string, number>();
  const prefixes: Array<{ prefix: string; i: number }> = [];
  config.upstreams.forEach((u, i) => {
    if (names.has(u.name))
      throw new ConfigError(`duplicate upstream name \`${u.name}\``, [
        { path: `/upstreams/${i}/name`, message: `already used by /upstreams/${names.get(u.name)}` },
      ]);
    names.set(u.name, i);
    for (const p of prefixes) {
      if (p.prefix === u.prefix || p.prefix.startsWith(`${u.prefix}/`) || u.prefix.startsWith(`${p.prefix}/`)) {
        throw new ConfigError(`upstream prefix \`${u.prefix}\` overlaps \`${p.prefix}\``, [
          { path: `/upstreams/${i}/prefix`, message: `overlaps /upstreams/${p.i}/prefix` },
        ]);
      }
    }
    prefixes.push({ prefix: u.prefix, i });
    if (u.credential?.inject === 'header' && u.credential.header === undefined) {
      throw new ConfigError('credential injected as a custom header needs `header`', [
        { path: `/upstreams/${i}/credential/header`, message: 'required when inject is `header`' },
      ]);
    }
    if (isOpsPath(u.prefix)) {
      throw new ConfigError(`upstream prefix \`${u.prefix}\` is reserved`, [{ path: `/upstreams/${i}/prefix`, message: 'reserved path' }]);
    }
  });
  return deepFreeze(config);
}

/**
 * Reads a JSON or YAML configuration file, applies environment overrides
 * (`ARGUS_PROXY_PORT`, `ARGUS_PROXY_HOST`, `ARGUS_APDP_URL`, `ARGUS_DECISION_TIMEOUT_MS`) and validates it.
 */
export function loadProxyConfig(path: string, env: NodeJS.ProcessEnv = process.env): Readonly<ProxyConfig> {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`proxy configuration \`${path}\` cannot be read`, [
      { path: '/', message: err instanceof Error ? err.message.split('\n')[0]! : 'unreadable' },
    ]);
  }
  return parseProxyConfig(applyEnvOverrides(raw, env));
}

/** Applies the documented environment overrides to a raw configuration (before validation). */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out = structuredClone(raw) as Record<string, Record<string, unknown> | undefined>;
  const listen = { ...(out.listen ?? {}) };
  const decision = { ...(out.decision ?? {}) };
  if (env.ARGUS_PROXY_PORT) listen.port = Number(env.ARGUS_PROXY_PORT);
  if (env.ARGUS_PROXY_HOST) listen.host = env.ARGUS_PROXY_HOST;
  if (env.ARGUS_APDP_URL) decision.url = env.ARGUS_APDP_URL;
  if (env.ARGUS_DECISION_TIMEOUT_MS) decision.timeoutMs = Number(env.ARGUS_DECISION_TIMEOUT_MS);
  const registry = { ...(out.registry ?? {}) };
  if (env.ARGUS_REGISTRY_URL) registry.url = env.ARGUS_REGISTRY_URL;
  out.listen = listen;
  out.decision = decision;
  out.registry = registry;
  return out;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
