/**
 * The configuration `argus serve` runs with, resolved with one precedence for every key:
 * embedded defaults < configuration file < environment < command-line flags.
 *
 * The embedded defaults are what makes `argus serve` work with nothing set up: the policies in
 * `./cedar` (or the repository's), the SQLite store and audit trail in the data dir, and an admin
 * token generated into `<dataDir>/admin-token`. A key the file or the environment sets is never
 * replaced by one of these defaults.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { ArgusConfig } from '@argus/apdp';
import { ENV_OVERRIDES, loadConfig } from '@argus/platform';

/** The flags of `argus serve` that set configuration keys. */
export interface ServeFlags {
  config?: string;
  port?: string;
  host?: string;
  policies?: string;
  store?: string;
  dataDir: string;
}

/** The resolved configuration and where the admin token came from. */
export interface ServeSettings {
  config: ArgusConfig;
  /** The file the admin token was generated into, when neither the file nor the environment set one. */
  generatedTokenFile?: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SCHEMA_ID = 'https://argus.dev/schemas/config/argus.json';

/** The policy directory when nothing names one: `./cedar` when it holds a schema, else the repository's. */
export function embeddedPolicyDir(cwd = process.cwd()): string {
  return existsSync(join(cwd, 'cedar/schema.cedarschema')) ? 'cedar' : join(REPO_ROOT, 'cedar');
}

/**
 * Reads the keys a configuration file sets, without validating it (`loadConfig` reports a bad file,
 * naming it). An unreadable or unparsable file reads as `{}` here.
 */
function fileDocument(file: string | undefined): unknown {
  if (!file) return {};
  try {
    const text = readFileSync(file, 'utf8');
    return (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
  } catch {
    return {};
  }
}

function pointerValue(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Whether the environment sets `pointer` through one of the documented overrides. */
function envSets(env: NodeJS.ProcessEnv, pointer: string): boolean {
  return Object.entries(ENV_OVERRIDES).some(([name, p]) => p === pointer && env[name] !== undefined && env[name] !== '');
}

function envValue(env: NodeJS.ProcessEnv, pointer: string): string | undefined {
  const name = Object.entries(ENV_OVERRIDES).find(([, p]) => p === pointer)?.[0];
  const value = name ? env[name] : undefined;
  return value === '' ? undefined : value;
}

function loadOrCreateToken(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `argus_admin_${randomBytes(24).toString('base64url')}`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/**
 * Resolves the configuration of `argus serve`: defaults < file < environment < flags, key by key.
 * Generates the admin token into the data dir only when neither the file nor `ARGUS_ADMIN_TOKEN`
 * sets one. Throws `ConfigError` (naming the offending paths) for an invalid result.
 */
export function resolveServeSettings(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServeSettings {
  const doc = fileDocument(flags.config);
  const setByFileOrEnv = (pointer: string) => pointerValue(doc, pointer) !== undefined || envSets(env, pointer);

  // The policy directory in force decides where the intent catalogue is looked for by default.
  const policyDir =
    flags.policies ?? envValue(env, '/policy/dir') ?? (pointerValue(doc, '/policy/dir') as string | undefined) ?? embeddedPolicyDir(cwd);
  const defaults: Record<string, unknown> = {
    '/policy/dir': embeddedPolicyDir(cwd),
    '/governance/intentsFile': join(policyDir, 'intents.json'),
    '/store/url': `sqlite:${join(flags.dataDir, 'argus.db')}`,
    '/audit/sinks': [{ type: 'sqlite', path: join(flags.dataDir, 'audit.db') }],
    '/audit/spill/dir': join(flags.dataDir, 'audit-spill'),
  };
  const values: Record<string, unknown> = {};
  for (const [pointer, value] of Object.entries(defaults)) if (!setByFileOrEnv(pointer)) values[pointer] = value;

  // The quick start (no file) answers anonymous decisions with their side effects skipped; with a
  // file, the file (schema default `required`) or ARGUS_AUTH_DECISIONS decides (docs/security.md).
  if (!flags.config && !setByFileOrEnv('/auth/decisions')) values['/auth/decisions'] = 'open';

  let generatedTokenFile: string | undefined;
  if (!setByFileOrEnv('/auth/adminToken')) {
    generatedTokenFile = join(flags.dataDir, 'admin-token');
    values['/auth/adminToken'] = loadOrCreateToken(generatedTokenFile);
  }

  // Flags last: they beat the file and the environment.
  if (flags.policies !== undefined) values['/policy/dir'] = flags.policies;
  if (flags.store !== undefined) values['/store/url'] = flags.store;
  if (flags.port !== undefined) values['/server/port'] = /^\d+$/.test(flags.port) ? Number(flags.port) : flags.port;
  if (flags.host !== undefined) values['/server/host'] = flags.host;

  const config = loadConfig<ArgusConfig>({ schemaId: SCHEMA_ID, env, ...(flags.config ? { file: flags.config } : {}), values });
  return { config, ...(generatedTokenFile ? { generatedTokenFile } : {}) };
}
