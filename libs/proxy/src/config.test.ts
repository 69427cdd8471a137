import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeConfigFile } from '@argus/platform/testing/config-file';
import { loadProxyConfig, parseProxyConfig, PROXY_CONFIG_FILE } from './config.ts';
import { injectionFor } from './inject-credential.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-proxy-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const upstream = {
  name: 'openai',
  kind: 'openai',
  prefix: '/openai',
  target: 'https://api.openai.com',
  credential: { name: 'openai-key' },
};

function errorsOf(raw: unknown): Array<{ path: string }> {
  try {
    parseProxyConfig(raw);
  } catch (err) {
    return (err as { errors: Array<{ path: string }> }).errors;
  }
  throw new Error('expected a ConfigError');
}

describe('proxy configuration', () => {
  it('fills every default and freezes the result', () => {
    const c = parseProxyConfig({ upstreams: [upstream] });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.decision.timeoutMs).toBe(1000);
    expect(c.denyDetail).toBe('reason');
    expect(c.limits).toEqual({
      maxBodyBytes: 10485760,
      maxJsonDepth: 64,
      maxBatchSize: 100,
      maxBufferedResponseBytes: 1048576,
      shutdownGraceMs: 20000,
    });
    expect(c.upstreams[0]).toMatchObject({
      action: 'http:request',
      timeouts: { connectMs: 5000, idleMs: 120000, totalMs: 600000 },
      stripHeaders: [],
    });
    expect(Object.isFrozen(c.upstreams[0])).toBe(true);
  });

  it('names the offending path for bad and unknown fields', () => {
    expect(errorsOf({ upstreams: [{ ...upstream, kind: 'grpc' }] })[0]?.path).toBe('/upstreams/0/kind');
    expect(errorsOf({ upstreams: [{ ...upstream, target: 'file:///etc/passwd' }] })[0]?.path).toBe('/upstreams/0/target');
    expect(errorsOf({ upstreams: [{ ...upstream, prefix: 'openai' }] })[0]?.path).toBe('/upstreams/0/prefix');
    expect(errorsOf({ upstreams: [upstream], bogus: true })[0]?.path).toBe('/bogus');
    expect(errorsOf({ upstreams: [] })[0]?.path).toBe('/upstreams');
    expect(errorsOf({ upstreams: [upstream], denyDetail: 'everything' })[0]?.path).toBe('/denyDetail');
    expect(errorsOf({ upstreams: [upstream], auth: { agentTokens: [{ agent: 'a', sha256: 'argus_plain_token' }] } })[0]?.path).toBe(
      '/auth/agentTokens/0/sha256',
    );
  });

  it('refuses duplicate names, overlapping prefixes and custom injection without a header', () => {
    expect(errorsOf({ upstreams: [upstream, { ...upstream, prefix: '/other' }] })[0]?.path).toBe('/upstreams/1/name');
    expect(errorsOf({ upstreams: [upstream, { ...upstream, name: 'b', prefix: '/openai/v2' }] })[0]?.path).toBe('/upstreams/1/prefix');
    expect(errorsOf({ upstreams: [{ ...upstream, credential: { name: 'k', inject: 'header' } }] })[0]?.path).toBe(
      '/upstreams/0/credential/header',
    );
    expect(errorsOf({ upstreams: [{ ...upstream, prefix: '/metrics' }] })[0]?.path).toBe('/upstreams/0/prefix');
    // The audit part is parsed by the audit section at load, with its rules beyond the schema.
    expect(errorsOf({ upstreams: [upstream], audit: { retry: { initialBackoffMs: 5000, maxBackoffMs: 1000 } } })).toEqual([
      { path: '/audit/retry/maxBackoffMs', message: 'must be at least `initialBackoffMs`' },
    ]);
    expect(Object.isFrozen(parseProxyConfig({ upstreams: [upstream], audit: {} }).audit?.buffer)).toBe(true);
  });

  it('loads YAML with environment overrides applied before validation', () => {
    const file = join(dir, 'proxy.yaml');
    writeFileSync(
      file,
      'upstreams:\n  - name: a\n    kind: anthropic\n    prefix: /anthropic\n    target: https://api.anthropic.com\n    credential: { name: anthropic-key }\n',
    );
    const c = loadProxyConfig(file, { ARGUS_PROXY_PORT: '9999', ARGUS_APDP_URL: 'http://127.0.0.1:8181' });
    expect(c.listen.port).toBe(9999);
    expect(c.decision.url).toBe('http://127.0.0.1:8181');
    expect(() => loadProxyConfig(file, { ARGUS_PROXY_PORT: 'abc' })).toThrow(
      expect.objectContaining({ errors: [expect.objectContaining({ path: '/listen/port' })] }),
    );
    expect(() => loadProxyConfig(join(dir, 'missing.yaml'))).toThrow(/cannot be read/);
  });

  it('injects by kind unless configured', () => {
    const c = parseProxyConfig({
      upstreams: [
        upstream,
        { name: 'a', kind: 'anthropic', prefix: '/a', target: 'https://x.test', credential: { name: 'k' } },
        {
          name: 'h',
          kind: 'http',
          prefix: '/h',
          target: 'https://x.test',
          credential: { name: 'k', inject: 'header', header: 'X-Token', prefix: 'Token ' },
        },
        { name: 'n', kind: 'http', prefix: '/n', target: 'https://x.test' },
      ],
    });
    expect(c.upstreams.map(injectionFor)).toEqual([
      { header: 'authorization', prefix: 'Bearer ' },
      { header: 'x-api-key', prefix: '' },
      { header: 'x-token', prefix: 'Token ' },
      undefined,
    ]);
  });
});

describeConfigFile('the standalone proxy file', PROXY_CONFIG_FILE, {
  base: { upstreams: [upstream] },
  samples: {
    ARGUS_PROXY_HOST: { file: '0.0.0.0', env: '127.0.0.2', parsed: '127.0.0.2' },
    ARGUS_PROXY_PORT: { file: 9000, env: '9100', parsed: 9100 },
    ARGUS_APDP_URL: { file: 'http://apdp-a:8181', env: 'http://apdp-b:8181', parsed: 'http://apdp-b:8181' },
    ARGUS_DECISION_TIMEOUT_MS: { file: 250, env: '750', parsed: 750 },
    ARGUS_REGISTRY_URL: { file: 'http://registry-a:8182', env: 'http://registry-b:8182', parsed: 'http://registry-b:8182' },
  },
});
