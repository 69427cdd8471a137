import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@argus/platform';
import { describeConfigFile } from '@argus/platform/testing/config-file';
import { DISCOVER_CONFIG_FILE, loadDiscoverConfig, parseDiscoverConfig } from './config.ts';
import { deleteKeys, randomPrefix, testRedis, TEST_REDIS_URL } from './testdata/redis.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'argus-discover-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('discover configuration', () => {
  it('fills every default, applies env overrides before validation, and freezes the result', () => {
    const c = parseDiscoverConfig(
      { registry: { url: 'http://127.0.0.1:8082' }, targets: [{ id: 'lab', kind: 'network', address: '10.0.0.0/24', ports: [80] }] },
      { ARGUS_DISCOVER_REGISTRY_TOKEN: 'tok-from-env', ARGUS_DISCOVER_REDIS_PREFIX: 'p1' },
    );
    expect(c.registry.token).toBe('tok-from-env');
    expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'p1', queueName: 'argus-discover-scan' });
    expect(c.targets[0]).toMatchObject({ intervalMs: 300_000, concurrency: 64, connectTimeoutMs: 1000, probeTimeoutMs: 5000 });
    expect(c.worker).toMatchObject({ stalledIntervalMs: 30_000, maxStalledCount: 1 });
    expect(Object.isFrozen(c.targets[0])).toBe(true);
  });

  it('rejects unknown fields, bad values and duplicate ids by path, never echoing a secret', () => {
    const attempt = (data: unknown) => {
      try {
        parseDiscoverConfig(data, {});
        return undefined;
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return err as ConfigError;
      }
    };
    const err = attempt({
      registry: { url: 'ftp://x', token: 's3cr3t-token' },
      targets: [{ id: 'A', kind: 'ssh', address: 'x', colour: 1 }],
    });
    expect(err?.errors.map((e) => e.path).sort()).toEqual(
      ['/registry/url', '/targets/0/colour', '/targets/0/id', '/targets/0/kind'].sort(),
    );
    expect(JSON.stringify({ m: err?.message, e: err?.errors })).not.toContain('s3cr3t');
    const dup = attempt({
      registry: { url: 'http://r' },
      targets: [
        { id: 'a', kind: 'docker', address: 'unix:///d' },
        { id: 'a', kind: 'docker', address: 'unix:///e' },
      ],
    });
    expect(dup?.errors).toEqual([{ path: '/targets/1/id', message: 'duplicate target id `a`' }]);
  });

  it('loads YAML and resolves a relative heuristics path against the config file', () => {
    const file = join(dir, 'discover.yaml');
    writeFileSync(file, 'registry:\n  url: http://127.0.0.1:8082\nheuristicsFile: ./mine.json\ntargets: []\n');
    expect(loadDiscoverConfig(file, {}).heuristicsFile).toBe(join(dir, 'mine.json'));
    expect(() => loadDiscoverConfig(join(dir, 'missing.yaml'), {})).toThrow(/cannot be read/);
  });

  it.concurrent('main.ts starts with a config file, syncs the schedulers, and exits 0 on SIGTERM', async () => {
    const prefix = randomPrefix();
    const file = join(dir, 'main.json');
    writeFileSync(
      file,
      JSON.stringify({
        redis: { url: TEST_REDIS_URL, prefix, queueName: 'main' },
        registry: { url: 'http://127.0.0.1:1', token: 'tok-never-logged' },
        worker: { shutdownGraceMs: 2000 },
        targets: [{ id: 'idle', kind: 'network', address: '127.0.0.1:1', intervalMs: 3_600_000 }],
      }),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, '../../../apps/discover/src/main.ts'), file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ARGUS_LOG_LEVEL: 'info' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const redis = testRedis();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`main did not start: ${out}`)), 20_000);
        child.stdout.on('data', () => {
          if (out.includes('discover started')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(await redis.exists(`${prefix}:main:repeat:target:idle`)).toBe(1);
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
      expect(out).toContain('scan schedules synced');
      expect(out).not.toContain('tok-never-logged');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await deleteKeys(redis, prefix);
      await redis.quit();
    }
  });

  it.concurrent('main.ts exits 1 naming the offending path for a bad config', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ registry: { url: 'http://r', token: 'tok-never-logged' }, targets: [{ id: 'x', kind: 'network' }] }),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, '../../../apps/discover/src/main.ts'), file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('/targets/0/address');
    expect(out).not.toContain('tok-never-logged');
  });
});

describeConfigFile('the discover file', DISCOVER_CONFIG_FILE, {
  base: { registry: { url: 'http://registry:8182' }, targets: [] },
  samples: {
    ARGUS_DISCOVER_SCANNER_ID: { file: 'scanner-a', env: 'scanner-b', parsed: 'scanner-b' },
    ARGUS_DISCOVER_REDIS_URL: { file: 'redis://a:6379', env: 'redis://b:6379', parsed: 'redis://b:6379' },
    ARGUS_DISCOVER_REDIS_PREFIX: { file: 'file:', env: 'env:', parsed: 'env:' },
    ARGUS_DISCOVER_QUEUE: { file: 'queue-a', env: 'queue-b', parsed: 'queue-b' },
    ARGUS_DISCOVER_REGISTRY_URL: { file: 'http://registry-a:8182', env: 'http://registry-b:8182', parsed: 'http://registry-b:8182' },
    ARGUS_DISCOVER_REGISTRY_TOKEN: { file: 'file-registry-token-0123', env: 'env-registry-token-0123', parsed: 'env-registry-token-0123' },
    ARGUS_DISCOVER_HEURISTICS_FILE: { file: '/etc/a.json', env: '/etc/b.json', parsed: '/etc/b.json' },
  },
});
