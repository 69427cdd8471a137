/**
 * The standalone registry reads the environment through the same section mechanism as every other
 * file (one table, `registryServiceSection.env`), with the same contract suite.
 */
import { DEFAULT_STORE_URL } from '@argus/store';
import { describeConfigFile } from '@argus/platform/testing/config-file';
import { REGISTRY_CONFIG_FILE } from './config.ts';

const TOKENS = {
  file: { a: 'file-token-a-0123456789' },
  env: 'a=env-token-a-0123456789,b=env-token-b-0123456789',
  parsed: { a: 'env-token-a-0123456789', b: 'env-token-b-0123456789' },
};

describeConfigFile('the standalone registry', REGISTRY_CONFIG_FILE, {
  base: { store: {} },
  defaults: { '/store/url': DEFAULT_STORE_URL },
  samples: {
    PORT: { file: 9000, env: '9100', parsed: 9100 },
    HOST: { file: '0.0.0.0', env: '127.0.0.2', parsed: '127.0.0.2' },
    ARGUS_STORE_URL: { file: 'sqlite:/data/a.db', env: 'sqlite:/data/b.db', parsed: 'sqlite:/data/b.db' },
    ARGUS_REDIS_URL: { file: 'redis://a:6379', env: 'redis://b:6379', parsed: 'redis://b:6379' },
    ARGUS_REDIS_PREFIX: { file: 'file:', env: 'env:', parsed: 'env:' },
    ARGUS_ADMIN_TOKEN: { file: 'file-admin-token-0123456789', env: 'env-admin-token-0123456789', parsed: 'env-admin-token-0123456789' },
    ARGUS_JWKS_URL: {
      file: 'https://idp.example/jwks.json',
      env: 'https://other.example/jwks.json',
      parsed: 'https://other.example/jwks.json',
    },
    ARGUS_JWT_ISSUER: { file: 'https://idp-a.example', env: 'https://idp-b.example', parsed: 'https://idp-b.example' },
    ARGUS_JWT_AUDIENCE: { file: 'argus-a', env: 'argus-b', parsed: 'argus-b' },
    ARGUS_SCANNER_TOKENS: TOKENS,
    ARGUS_AGENT_TOKENS: TOKENS,
    ARGUS_SERVICE_TOKENS: TOKENS,
    ARGUS_REGISTRY_ON_TOOL_CHANGE: { file: 'quarantined', env: 'pending', parsed: 'pending' },
  },
});
