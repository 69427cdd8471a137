/**
 * Configuration of the discovery service: a JSON or YAML file, environment overrides applied before
 * validation against `config-discover.json` (defaults filled in), then frozen. A bad file fails with
 * a `ConfigError` naming each offending path and never echoing a value.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validatorFor } from '@argus/contracts';
import { ConfigError } from '@argus/platform';
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
  targets: ScanTarget[];
}

/** Environment variables that override file values (applied before validation). */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: readonly string[] }> = [
  { env: 'ARGUS_DISCOVER_SCANNER_ID', path: ['scannerId'] },
  { env: 'ARGUS_DISCOVER_REDIS_URL', path: ['redis', 'url'] },
  { env: 'ARGUS_DISCOVER_REDIS_PREFIX', path: ['redis', 'prefix'] },
  { env: 'ARGUS_DISCOVER_QUEUE', path: ['redis', 'queueName'] },
  { env: 'ARGUS_DISCOVER_REGISTRY_URL', path: ['registry', 'url'] },
  { env: 'ARGUS_DISCOVER_REGISTRY_TOKEN', path: ['registry', 'token'] },
  { env: 'ARGUS_DISCOVER_HEURISTICS_FILE', path: ['heuristicsFile'] },
];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Applies env overrides, validates, fills defaults, freezes. `baseDir` resolves a relative heuristics path. */
export function parseDiscoverConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, baseDir?: string): DiscoverConfig {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ConfigError('configuration must be an object', [{ path: '/', message: 'must be object' }]);
  const copy = structuredClone(data) as Record<string, unknown>;
  for (const { env: name, path } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = copy;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {}) as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  const result = validatorFor<DiscoverConfig>(DISCOVER_CONFIG_SCHEMA_ID)(copy);
  if (!result.ok) throw new ConfigError('invalid discover configuration', result.errors);
  const config = result.value;
  const ids = new Set<string>();
  for (const [i, t] of config.targets.entries()) {
    if (ids.has(t.id))
      throw new ConfigError('invalid discover configuration', [{ path: `/targets/${i}/id`, message: `duplicate target id \`${t.id}\`` }]);
    ids.add(t.id);
  }
  if (config.heuristicsFile && baseDir) config.heuristicsFile = resolve(baseDir, config.heuristicsFile);
  return deepFreeze(config);
}

/** Reads a JSON or YAML configuration file, then {@link parseDiscoverConfig}. */
export function loadDiscoverConfig(file: string, env: NodeJS.ProcessEnv = process.env): DiscoverConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read configuration \`${file}\``, [
      { path: '/', message: (err as NodeJS.ErrnoException).code ?? 'unreadable' },
    ]);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch {
    throw new ConfigError(`configuration \`${file}\` does not parse`, [{ path: '/', message: 'invalid JSON/YAML' }]);
  }
  return parseDiscoverConfig(data, env, dirname(resolve(file)));
}

/** Fills a target's defaults (for one-off scans built outside a config file). Throws `ConfigError`. */
export function normalizeTarget(target: Partial<ScanTarget> & Pick<ScanTarget, 'id' | 'kind' | 'address'>): ScanTarget {
  const config = parseDiscoverConfig({ registry: { url: 'http://127.0.0.1' }, targets: [target] }, {});
  return config.targets[0] as ScanTarget;
}
