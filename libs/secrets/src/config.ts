/** The `secrets` configuration section (`schemas/config/secrets.schema.json`). */
import { defineSection, parseSection } from '@argus/platform';
import type { SecretOverride } from './broker.ts';

/** The validated `secrets` configuration, defaults filled in. */
export interface SecretsConfig {
  store: 'sqlite' | 'memory';
  path: string;
  /** The environment variable holding the encryption key (read when the store opens, not an override). */
  keyEnv: string;
  keyFile?: string;
  cacheTtlMs: number;
  overrides: Record<string, SecretOverride>;
}

/** The `$id` of the secrets configuration schema. */
export const SECRETS_CONFIG_SCHEMA_ID = 'https://argus.dev/schemas/config/secrets.json';

/** `secrets`: no environment override (the key itself comes from the variable `keyEnv` names). */
export const secretsSection = defineSection<SecretsConfig>({ key: 'secrets', schemaId: SECRETS_CONFIG_SCHEMA_ID });

/** Validates a raw secrets configuration, filling defaults; throws `ConfigError` naming the offending path. */
export function parseSecretsConfig(raw: unknown = {}): Readonly<SecretsConfig> {
  return parseSection(secretsSection, raw ?? {});
}
