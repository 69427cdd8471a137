/**
 * The standalone registry's composition root (`startRegistry`) with a Redis key prefix taken from
 * `ARGUS_REDIS_PREFIX`, so a test run on the shared Redis touches only its own keys. The registry's
 * own `main.ts` reads no prefix from the environment yet.
 */
import { createLogger } from '@argus/platform';
import { loadRegistryConfig, startRegistry } from '@argus/registry';

const logger = createLogger({ name: 'argus-registry' });
const prefix = process.env.ARGUS_REDIS_PREFIX;
const running = await startRegistry(loadRegistryConfig(process.env, prefix ? { store: { redisPrefix: prefix } } : {}), logger);
running.shutdown.installSignalHandlers();
