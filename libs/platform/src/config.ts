import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { validatorFor } from '@argus/contracts';
import { ConfigError } from './errors.ts';

/** An environment variable and the config path (JSON Pointer) it overrides. */
export type EnvOverrides = Readonly<Record<string, string>>;

/** The environment overrides every app honours (documented in docs/configuration.md). */
export const ENV_OVERRIDES: EnvOverrides = {
  ARGUS_HOST: '/server/host',
  ARGUS_PORT: '/server/port',
  ARGUS_POLICY_DIR: '/policy/dir',
  ARGUS_ADMIN_TOKEN: '/auth/adminToken',
  ARGUS_JWKS_URL: '/auth/jwksUrl',
  ARGUS_AUTH_DECISIONS: '/auth/decisions',
  ARGUS_PROXY_SERVICE_TOKEN: '/auth/serviceTokens/proxy',
  ARGUS_STORE_URL: '/store/url',
  ARGUS_REDIS_URL: '/store/redisUrl',
  ARGUS_REDIS_PREFIX: '/store/redisPrefix',
  ARGUS_LOG_LEVEL: '/logging/level',
  ARGUS_DECISION_TIMEOUT_MS: '/server/decisionTimeoutMs',
  ARGUS_AUDIT_ENABLED: '/audit/enabled',
  ARGUS_AUDIT_DURABILITY: '/audit/durability',
  ARGUS_DECISION_MEMO: '/policy/decisionMemo',
};

/** Key names whose string values are secrets: never printed, never echoed in an error. */
const SECRET_KEY = /(token|secret|password|passphrase|privatekey|apikey|credential)$/i;

/**
 * Loads a config file (JSON or YAML; absent → `{}`), applies environment overrides, validates it
 * against its JSON Schema with defaults filled in, and returns it frozen. A bad config throws a
 * `ConfigError` naming every offending path — never a secret value.
 */
export function loadConfig<T>(options: {
  schemaId: string;
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: EnvOverrides;
  values?: Record<string, unknown>;
}): T {
  let doc: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config file \`${options.file}\` cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      doc = (options.file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
    } catch {
      throw new ConfigError(`config file \`${options.file}\` is not valid ${options.file.endsWith('.json') ? 'JSON' : 'YAML'}`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file \`${options.file}\` must hold an object`);
  }
  const env = options.env ?? process.env;
  for (const [name, pointer] of Object.entries(options.overrides ?? ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPointer(doc, pointer, coerce(raw));
  }
  for (const [pointer, value] of Object.entries(options.values ?? {})) if (value !== undefined) setPointer(doc, pointer, value);
  const result = validatorFor<T>(options.schemaId)(doc);
  if (!result.ok)
    throw new ConfigError(`invalid configuration: ${result.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, result.errors);
  return deepFreeze(result.value);
}

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

function coerce(raw: string): unknown {
  if (/^-?\d+$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

function setPointer(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  const parts = pointer.split('/').slice(1);
  let node = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
