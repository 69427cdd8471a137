/**
 * Configuration of the discovery service: a JSON or YAML file, environment overrides applied before
 * validation against `config-discover.json` (defaults filled in), then frozen. A bad file fails with
 * a `ConfigError` naming each offending path and never echoing a value.
 */
import { resolve } from 'node:path';
import { defineSection, standaloneConfigFile, type ConfigIssue } from '@argus/platform';
import type { ScanTarget } from './types.ts';

/** `$id` of the configuration schema. */
export const DISCOVER_CONFIG_SCHEMA_ID = 'https://argus.dev/schemas/config-discover.json';

/** The validated configuration, every default filled in. */
export interface DiscoverConfig {
  scannerId: string;
  heuristicsFile?: string;
  redis: { url: string; prefix: string; queueName: string };
  registry: { url: string; token?: string; timeoutMs: number; leaseTtlMs: number };
  worker: { concurrency: number; lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number; shutdownGraceMs: number };
  jobs: { attempts: number; backoffDelayMs: number; keepCompleted: number; keepFailed: number };
  limits: { maxEndpointsPerScan: number; probeAllowCidrs?: string[] };
  /** Each with its defaults filled in: what the scanners take. */
  targets: ScanTarget[];
}

/**
 * `discover` (`schemas/config/discover.schema.json`): a section of the Argus configuration file, and
 * the whole file of `apps/discover`, where its environment overrides apply. Beyond the schema:
 * unique target ids, and a relative `heuristicsFile` resolved against the file's directory.
 */
export const discoverSection = defineSection<DiscoverConfig, true>({
  key: 'discover',
  schemaId: DISCOVER_CONFIG_SCHEMA_ID,
  optional: true,
  env: {
    ARGUS_DISCOVER_SCANNER_ID: { pointer: '/scannerId', type: 'string' },
    ARGUS_DISCOVER_REDIS_URL: { pointer: '/redis/url', type: 'string' },
    ARGUS_DISCOVER_REDIS_PREFIX: { pointer: '/redis/prefix', type: 'string' },
    ARGUS_DISCOVER_QUEUE: { pointer: '/redis/queueName', type: 'string' },
    ARGUS_DISCOVER_REGISTRY_URL: { pointer: '/registry/url', type: 'string' },
    ARGUS_DISCOVER_REGISTRY_TOKEN: { pointer: '/registry/token', type: 'string' },
    ARGUS_DISCOVER_HEURISTICS_FILE: { pointer: '/heuristicsFile', type: 'string' },
  },
  check(config, { baseDir }) {
    const errors: ConfigIssue[] = [];
    const ids = new Set<string>();
    for (const [i, t] of config.targets.entries()) {
      if (ids.has(t.id)) errors.push({ path: `/targets/${i}/id`, message: `duplicate target id \`${t.id}\`` });
      ids.add(t.id);
    }
    if (config.heuristicsFile && baseDir) config.heuristicsFile = resolve(baseDir, config.heuristicsFile);
    return errors;
  },
});

/** `apps/discover`'s file: the `discover` section as the whole file. */
export const DISCOVER_CONFIG_FILE = standaloneConfigFile(discoverSection);

/** Applies env overrides, validates, fills defaults, freezes. `baseDir` resolves a relative heuristics path. */
export function parseDiscoverConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, baseDir?: string): DiscoverConfig {
  return DISCOVER_CONFIG_FILE.load({ document: data, env, ...(baseDir ? { baseDir } : {}) });
}

/** Reads a JSON or YAML configuration file, then {@link parseDiscoverConfig}. */
export function loadDiscoverConfig(file: string, env: NodeJS.ProcessEnv = process.env): DiscoverConfig {
  return DISCOVER_CONFIG_FILE.load({ file, env });
}

/** Fills a target's defaults (for one-off scans built outside a config file). Throws `ConfigError`. */
export function normalizeTarget(target: Partial<ScanTarget> & Pick<ScanTarget, 'id' | 'kind' | 'address'>): ScanTarget {
  const config = parseDiscoverConfig({ registry: { url: 'http://127.0.0.1' }, targets: [target] }, {});
  return config.targets[0]!;
}
