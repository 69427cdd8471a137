import { readFileSync } from 'node:fs';
import { ConfigError } from '@argus/platform';
import { parseSecretsKey } from './cipher.ts';
import { SecretsBroker } from './broker.ts';
import { MemorySecretStore } from './memory/memory-secret-store.ts';
import type { SecretStore } from './ports.ts';
import { SqliteSecretStore } from './sqlite/sqlite-secret-store.ts';
import type { SecretsConfig } from './config.ts';

/** Reads the encryption key from the configured environment variable, else from `keyFile`. */
export function loadSecretsKey(config: Pick<SecretsConfig, 'keyEnv' | 'keyFile'>, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env[config.keyEnv];
  if (fromEnv !== undefined && fromEnv !== '') return parseSecretsKey(fromEnv, config.keyEnv);
  if (config.keyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.keyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`secrets key file \`${config.keyFile}\` cannot be read`, [
        { path: '/keyFile', message: (err as NodeJS.ErrnoException).code ?? 'unreadable' },
      ]);
    }
    return parseSecretsKey(text, 'keyFile');
  }
  throw new ConfigError(`no secrets key: set \`${config.keyEnv}\` to 32 bytes (hex or base64)`, [
    { path: `/keyEnv`, message: `${config.keyEnv} is not set` },
  ]);
}

/** Opens the configured adapter. */
export function openSecretStore(config: SecretsConfig, env: NodeJS.ProcessEnv = process.env): SecretStore {
  const key = loadSecretsKey(config, env);
  return config.store === 'memory' ? new MemorySecretStore({ key }) : new SqliteSecretStore({ path: config.path, key });
}

/** Opens the store and wraps it in a broker with the configured overrides and cache. */
export function openSecretsBroker(
  config: SecretsConfig,
  env: NodeJS.ProcessEnv = process.env,
): { store: SecretStore; broker: SecretsBroker } {
  const store = openSecretStore(config, env);
  return { store, broker: new SecretsBroker(store, { overrides: config.overrides, cacheTtlMs: config.cacheTtlMs }) };
}
