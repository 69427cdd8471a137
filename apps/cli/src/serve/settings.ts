/**
 * The configuration `argus serve` runs with, resolved with one precedence for every key:
 * embedded defaults < configuration file < environment < command-line flags.
 *
 * The embedded defaults are what makes `argus serve` work with nothing set up: the policies in
 * `./cedar` (or the repository's), the SQLite store and audit trail in the data dir, and an admin
 * token generated into `<dataDir>/admin-token`. A key the file, the environment or a flag sets is
 * never replaced by one of these defaults (the loader applies them last, to what is still unset).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARGUS_SECTIONS, CONFIG_SCHEMA_ID } from '@argus/apdp';
import { composeConfigFile, pointerGet, withoutEnv, type ConfigLayer, type ConfigOf } from '@argus/platform';
// The section only: the proxy itself loads when the configuration has a proxy section (commands/serve.ts).
import { proxySection } from '@argus/proxy/config';

/** The flags of `argus serve` that set configuration keys. */
export interface ServeFlags {
  config?: string;
  port?: string;
  host?: string;
  policies?: string;
  store?: string;
  dataDir: string;
}

/**
 * The sections `argus serve` reads: the Argus configuration file's, with `proxy` parsed at load (the
 * in-process proxy starts from it). The proxy's environment overrides (`ARGUS_PROXY_PORT`, ...)
 * belong to the standalone proxy's file: here `proxy.*` comes from the file only.
 */
export const SERVE_SECTIONS = { ...ARGUS_SECTIONS, proxy: withoutEnv(proxySection) } as const;

/** The Argus configuration file as `argus serve` and `argus config check` load it. */
export const SERVE_CONFIG_FILE = composeConfigFile(CONFIG_SCHEMA_ID, SERVE_SECTIONS);

/** The configuration `argus serve` runs with. */
export type ServeConfig = ConfigOf<typeof SERVE_SECTIONS>;

/** The resolved configuration and where the admin token came from. */
export interface ServeSettings {
  config: ServeConfig;
  /** The file the admin token was generated into, when neither the file nor the environment set one. */
  generatedTokenFile?: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The policy directory when nothing names one: `./cedar` when it holds a schema, else the repository's. */
export function embeddedPolicyDir(cwd = process.cwd()): string {
  return existsSync(join(cwd, 'cedar/schema.cedarschema')) ? 'cedar' : join(REPO_ROOT, 'cedar');
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
 * sets one. Throws `ConfigError` (naming every offending path) for an invalid result.
 */
export function resolveServeSettings(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServeSettings {
  let generatedTokenFile: string | undefined;
  // In order: the intent catalogue's default follows the policy directory in force.
  const defaults: ConfigLayer = {
    '/policy/dir': embeddedPolicyDir(cwd),
    '/governance/intentsFile': (doc: unknown) => join(pointerGet(doc, '/policy/dir') as string, 'intents.json'),
    '/store/url': `sqlite:${join(flags.dataDir, 'argus.db')}`,
    '/audit/sinks': [{ type: 'sqlite', path: join(flags.dataDir, 'audit.db') }],
    '/audit/spill/dir': join(flags.dataDir, 'audit-spill'),
    // The quick start (no file) answers anonymous decisions with their side effects skipped; with a
    // file, the file (schema default `required`) or ARGUS_AUTH_DECISIONS decides (docs/security.md).
    '/auth/decisions': flags.config ? undefined : 'open',
    '/auth/adminToken': () => loadOrCreateToken((generatedTokenFile = join(flags.dataDir, 'admin-token'))),
  };
  const set: ConfigLayer = {
    '/policy/dir': flags.policies,
    '/store/url': flags.store,
    '/server/port': flags.port !== undefined && /^\d+$/.test(flags.port) ? Number(flags.port) : flags.port,
    '/server/host': flags.host,
  };
  const config = SERVE_CONFIG_FILE.load({ defaults, ...(flags.config ? { file: flags.config } : {}), env, flags: set });
  return { config, ...(generatedTokenFile ? { generatedTokenFile } : {}) };
}
