import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validatorFor } from '@argus/contracts';
import { ConfigError, createAuthenticator, createLogger, Shutdown, type AuthenticatorOptions, type Logger } from '@argus/platform';
import { openEventBus, openLeaseStore, openStorage, DEFAULT_STORE_URL } from '@argus/store';
import { createRegistryApp } from './app.ts';
import type { RegistryLimits } from './deps.ts';

/** The standalone registry configuration (`schemas/registry/config.schema.json`), frozen after validation. */
export interface RegistryConfig {
  port: number;
  host: string;
  store: {
    url: string;
    redisUrl?: string;
    redisPrefix: string;
    redisCommandTimeoutMs: number;
    redisReconnectMaxDelayMs: number;
    sqliteBusyTimeoutMs: number;
    mongoDatabase?: string;
    mongoServerSelectionTimeoutMs: number;
    mongoMaxPoolSize: number;
  };
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
  limits: RegistryLimits & { shutdownGraceMs: number };
}

/** Parses `id=token,id2=token2` (or a JSON object) from an env value; never echoes it on error. */
function tokenMap(value: string | undefined, path: string): Record<string, string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as Record<string, string>;
    } catch {
      throw new ConfigError('token map is not valid JSON', [{ path, message: 'expected a JSON object or `id=token,...`' }]);
    }
  }
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError('token map entry has no `=`', [{ path, message: 'expected `id=token,...`' }]);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Builds the configuration from `base` with environment overrides applied (ARGUS_STORE_URL,
 * ARGUS_REDIS_URL, ARGUS_ADMIN_TOKEN, PORT, HOST, ARGUS_JWKS_URL, ARGUS_JWT_ISSUER,
 * ARGUS_JWT_AUDIENCE, ARGUS_SCANNER_TOKENS, ARGUS_AGENT_TOKENS, ARGUS_SERVICE_TOKENS, ARGUS_REGISTRY_ON_TOOL_CHANGE),
 * validates it against the schema and freezes it. A bad value throws `ConfigError` naming the path.
 */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env, base: Record<string, unknown> = {}): Readonly<RegistryConfig> {
  const store = { url: DEFAULT_STORE_URL, ...((base.store as object | undefined) ?? {}) } as Record<string, unknown>;
  if (env.ARGUS_STORE_URL) store.url = env.ARGUS_STORE_URL;
  if (env.ARGUS_REDIS_URL) store.redisUrl = env.ARGUS_REDIS_URL;
  const raw: Record<string, unknown> = { ...base, store };
  if (env.PORT !== undefined) raw.port = /^\d+$/.test(env.PORT) ? Number(env.PORT) : env.PORT;
  if (env.HOST) raw.host = env.HOST;
  if (env.ARGUS_ADMIN_TOKEN) raw.adminToken = env.ARGUS_ADMIN_TOKEN;
  if (env.ARGUS_JWKS_URL) raw.jwksUrl = env.ARGUS_JWKS_URL;
  if (env.ARGUS_JWT_ISSUER) raw.jwtIssuer = env.ARGUS_JWT_ISSUER;
  if (env.ARGUS_JWT_AUDIENCE) raw.jwtAudience = env.ARGUS_JWT_AUDIENCE;
  if (env.ARGUS_REGISTRY_ON_TOOL_CHANGE) raw.onToolChange = env.ARGUS_REGISTRY_ON_TOOL_CHANGE;
  const scanners = tokenMap(env.ARGUS_SCANNER_TOKENS, '/scannerTokens');
  if (scanners) raw.scannerTokens = scanners;
  const agents = tokenMap(env.ARGUS_AGENT_TOKENS, '/agentTokens');
  if (agents) raw.agentTokens = agents;
  const services = tokenMap(env.ARGUS_SERVICE_TOKENS, '/serviceTokens');
  if (services) raw.serviceTokens = services;
  const result = validatorFor<RegistryConfig>('https://argus.dev/schemas/registry/config.json')(raw);
  if (!result.ok) throw new ConfigError('invalid registry configuration', result.errors);
  return deepFreeze(result.value);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A running registry: its address and a way to stop it (closes the server, the bus, leases, store). */
export interface RunningRegistry {
  url: string;
  server: Server;
  shutdown: Shutdown;
}

/** Composition root: config → storage → leases and events → router → listen. */
export async function startRegistry(
  config: Readonly<RegistryConfig>,
  logger: Logger = createLogger({ name: 'argus-registry' }),
): Promise<RunningRegistry> {
  const shutdown = new Shutdown(logger, config.limits.shutdownGraceMs);
  const storage = await openStorage(config.store.url, {
    sqlite: { busyTimeoutMs: config.store.sqliteBusyTimeoutMs },
    mongo: {
      ...(config.store.mongoDatabase ? { database: config.store.mongoDatabase } : {}),
      serverSelectionTimeoutMs: config.store.mongoServerSelectionTimeoutMs,
      maxPoolSize: config.store.mongoMaxPoolSize,
    },
  });
  shutdown.add({ name: 'storage', close: () => storage.close() });
  const signal = {
    ...(config.store.redisUrl ? { redisUrl: config.store.redisUrl } : {}),
    prefix: config.store.redisPrefix,
    commandTimeoutMs: config.store.redisCommandTimeoutMs,
    reconnectMaxDelayMs: config.store.redisReconnectMaxDelayMs,
    logger,
  };
  const leases = openLeaseStore(signal);
  shutdown.add({ name: 'leases', close: () => leases.close() });
  const events = openEventBus(signal);
  shutdown.add({ name: 'events', close: () => events.close() });

  const authOptions: AuthenticatorOptions = {
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    ...(config.scannerTokens ? { scannerTokens: { ...config.scannerTokens } } : {}),
    ...(config.agentTokens ? { agentTokens: { ...config.agentTokens } } : {}),
    ...(config.serviceTokens ? { serviceTokens: { ...config.serviceTokens } } : {}),
    ...(config.jwksUrl
      ? {
          jwks: {
            url: config.jwksUrl,
            adminRole: config.jwtAdminRole,
            ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
            ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
          },
        }
      : {}),
  };
  if (!config.adminToken && !config.jwksUrl)
    logger.warn('no admin credential configured (ARGUS_ADMIN_TOKEN or ARGUS_JWKS_URL): every write will be refused');

  const app = createRegistryApp({
    store: storage.registry,
    leases,
    events,
    auth: createAuthenticator(authOptions),
    logger,
    limits: config.limits,
    onToolChange: config.onToolChange,
    readiness: [{ name: 'store', check: async () => ({ ok: await storage.ping() }) }],
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  shutdown.addServer('http', server);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, store: storage.backend, redis: Boolean(config.store.redisUrl) }, 'registry listening');
  return { url, server, shutdown };
}
