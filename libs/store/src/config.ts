/**
 * The `store` configuration section (`schemas/config/store.schema.json`): the document store and
 * the Redis that carries leases, events and counters across processes.
 */
import { defineSection } from '@argus/platform';

/** The validated `store` section, defaults filled in. */
export interface StoreConfig {
  /** `sqlite:<path>`, `sqlite::memory:` or `mongodb://...`. */
  url: string;
  /** Redis for leases, events and counters across processes; in-process when absent. */
  redisUrl?: string;
  redisPrefix: string;
  redisCommandTimeoutMs: number;
  redisReconnectMaxDelayMs: number;
  sqliteBusyTimeoutMs: number;
  mongoDatabase?: string;
  mongoServerSelectionTimeoutMs: number;
  mongoMaxPoolSize: number;
}

/** `store`, with its environment overrides `ARGUS_STORE_URL`, `ARGUS_REDIS_URL`, `ARGUS_REDIS_PREFIX`. */
export const storeSection = defineSection<StoreConfig>({
  key: 'store',
  schemaId: 'https://argus.dev/schemas/config/store.json',
  env: {
    ARGUS_STORE_URL: { pointer: '/url', type: 'string' },
    ARGUS_REDIS_URL: { pointer: '/redisUrl', type: 'string' },
    ARGUS_REDIS_PREFIX: { pointer: '/redisPrefix', type: 'string' },
  },
});
