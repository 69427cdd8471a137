import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthenticator, createHttpServer, createLogger, Shutdown, type AuthenticatorOptions, type Logger } from '@argus/platform';
import { openEventBus, openLeaseStore, openStorage } from '@argus/store';
import { createRegistryApp } from './app.ts';
import type { RegistryConfig } from './config.ts';

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
    const s = createHttpServer({}, app).listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  shutdown.addServer('http', server);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, store: storage.backend, redis: Boolean(config.store.redisUrl) }, 'registry listening');
  return { url, server, shutdown };
}
