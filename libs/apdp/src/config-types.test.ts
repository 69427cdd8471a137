/**
 * Types that cannot drift from the schemas: each section's value type (written by hand, with its
 * doc comments) is identical to its JSON Schema compiled to TypeScript with the defaults filled in.
 * `ArgusConfig` itself is derived from the sections (`config.ts`), so it has no copy to drift.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sectionTypeDrift } from '@argus/platform/testing/config-file';

const HERE = import.meta.dirname;
const lib = (name: string, file: string) => resolve(HERE, '../..', name, 'src', file);

describe('section types against schemas/config/', () => {
  it('declares each section exactly as its schema does (defaults filled in)', async () => {
    const drift = await sectionTypeDrift([
      { schemaId: 'https://argus.dev/schemas/config/server.json', type: 'ServerConfig', module: resolve(HERE, 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/policy.json', type: 'PolicyConfig', module: resolve(HERE, 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/governance.json', type: 'GovernanceConfig', module: resolve(HERE, 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/effects.json', type: 'EffectsConfig', module: resolve(HERE, 'effects/config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/auth.json', type: 'AuthSectionConfig', module: lib('platform', 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/logging.json', type: 'LoggingConfig', module: lib('platform', 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/registry.json', type: 'RegistryPolicyConfig', module: lib('registry', 'config.ts') },
      { schemaId: 'https://argus.dev/schemas/config/store.json', type: 'StoreConfig', module: lib('store', 'config.ts') },
      {
        schemaId: 'https://argus.dev/schemas/config/audit.json',
        type: 'AuditConfig',
        module: lib('audit', 'config.ts'),
        // `writerId` is filled by the section's check (the host name), not by the schema; `sinks` is a
        // union by `type` the generator cannot express from the schema's if/then branches.
        omit: ['writerId', 'sinks'],
      },
      { schemaId: 'https://argus.dev/schemas/config/secrets.json', type: 'SecretsConfig', module: lib('secrets', 'config.ts') },
      {
        schemaId: 'https://argus.dev/schemas/config/proxy.json',
        type: 'ProxyConfig',
        module: lib('proxy', 'config.ts'),
        // `audit` is the audit section, parsed by its own section (compared above as AuditConfig).
        omit: ['audit'],
      },
      {
        schemaId: 'https://argus.dev/schemas/config-discover.json',
        type: 'DiscoverConfig',
        module: lib('discover', 'config.ts'),
        // `$schema` (for editors) is accepted in the file and never read.
        omit: ['$schema'],
      },
      { schemaId: 'https://argus.dev/schemas/registry/config.json', type: 'RegistryConfig', module: lib('registry', 'config.ts') },
    ]);
    expect(drift, 'a section type drifted from its schema (each line names it)').toEqual([]);
  }, 120_000);
});

describe('the drift check', () => {
  it('fails on a difference, naming the key', async () => {
    const drift = await sectionTypeDrift([
      { schemaId: 'https://argus.dev/schemas/config/store.json', type: 'ServerConfig', module: resolve(HERE, 'config.ts') },
    ]);
    expect(drift).toContain("ServerConfig: its keys: Type 'true' is not assignable to type 'false'.");
    expect(drift.join('\n')).toMatch(/ServerConfig\.url: /);
  }, 120_000);
});
