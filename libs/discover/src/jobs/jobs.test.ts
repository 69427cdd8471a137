import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@argus/platform';
import { createDiscoverApp, type DiscoverApp } from '../app.ts';
import { normalizeTarget, parseDiscoverConfig, type DiscoverConfig } from '../config.ts';
import { loadHeuristics } from '../heuristics.ts';
import { HttpRegistryClient } from '../registry-client.ts';
import { startMcpServer, startSilentTcp, type RunningServer } from '../testdata/loopback-servers.ts';
import { deleteKeys, randomPrefix, testRedis, TEST_REDIS_URL, waitFor } from '../testdata/redis.ts';
import { startRegistryStub, type RegistryStub } from '../testdata/registry-stub.ts';
import type { ScanTarget } from '../types.ts';
import { createScanQueue, ScanScheduler, SCHEDULER_PREFIX } from './queue.ts';
import { createScanProcessor, createScanWorker } from './worker.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const TOKEN = 'scanner-token-for-tests';
const heuristics = loadHeuristics();

describe('discovery jobs on the real Redis', () => {
  const prefix = randomPrefix();
  let admin: Redis;
  let registry: RegistryStub;
  let mcp: RunningServer;
  const apps: DiscoverApp[] = [];
  const children: ChildProcess[] = [];
  let queueCounter = 0;

  beforeAll(async () => {
    admin = testRedis();
    registry = await startRegistryStub(TOKEN);
    mcp = await startMcpServer({ name: 'orders-mcp', tools: [{ name: 'search', description: 'Search orders' }], mode: 'sse' });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });
  afterAll(async () => {
    await deleteKeys(admin, prefix);
    await admin.quit();
    await registry.close();
    await mcp.close();
  });

  function mcpTarget(over: Partial<ScanTarget> = {}): ScanTarget {
    return normalizeTarget({ id: 'loop', kind: 'network', address: `127.0.0.1:${mcp.port}`, probeTimeoutMs: 10_000, ...over });
  }

  function config(
    over: { targets?: ScanTarget[]; worker?: Partial<DiscoverConfig['worker']>; jobs?: Partial<DiscoverConfig['jobs']> } = {},
  ): DiscoverConfig {
    return parseDiscoverConfig(
      {
        scannerId: 'test-scanner',
        redis: { url: TEST_REDIS_URL, prefix, queueName: `scan-${++queueCounter}` },
        registry: { url: registry.url, token: TOKEN, timeoutMs: 1000 },
        worker: { concurrency: 2, lockDurationMs: 2000, stalledIntervalMs: 300, maxStalledCount: 1, shutdownGraceMs: 5000, ...over.worker },
        jobs: { attempts: 3, backoffDelayMs: 50, keepCompleted: 100, keepFailed: 100, ...over.jobs },
        limits: { maxEndpointsPerScan: 1000, probeAllowCidrs: ['127.0.0.0/8', '::1/128'] },
        targets: over.targets ?? [],
      },
      {},
    );
  }

  async function app(cfg: DiscoverConfig, roles?: { scheduler?: boolean; worker?: boolean }, name?: string): Promise<DiscoverApp> {
    const a = createDiscoverApp({
      config: cfg,
      heuristics,
      registry: new HttpRegistryClient({ url: cfg.registry.url, token: TOKEN, timeoutMs: cfg.registry.timeoutMs }),
      logger: silentLogger(),
      connect: testRedis,
      ...(roles ? { roles } : {}),
    });
    if (name && a.worker) a.worker.opts.name = name;
    apps.push(a);
    await a.start();
    return a;
  }

  it('creates one repeatable job scheduler per target, idempotently, and removes stale ones', async () => {
    const targets = [mcpTarget({ id: 'a', intervalMs: 60_000 }), mcpTarget({ id: 'b', intervalMs: 120_000 })];
    const cfg = config({ targets });
    const one = await app(cfg, { scheduler: true, worker: false });
    // A second scheduler process syncing the same configuration at the same time adds nothing.
    const twoQueue = createScanQueue({ connection: testRedis(), prefix, queueName: cfg.redis.queueName });
    await Promise.all([new ScanScheduler(twoQueue, cfg.jobs).sync(targets), one.scheduler.sync(targets)]);
    const schedulers = await one.queue.getJobSchedulers(0, -1);
    expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual([
      [`${SCHEDULER_PREFIX}a`, 60_000],
      [`${SCHEDULER_PREFIX}b`, 120_000],
    ]);
    // The first run of each is waiting (delayed until its first interval) — one per scheduler.
    expect((await one.queue.getDelayedCount()) + (await one.queue.getWaitingCount())).toBe(2);
    const after = await one.scheduler.sync([targets[0] as ScanTarget]);
    expect(after.removed).toEqual(['b']);
    expect((await one.queue.getJobSchedulers(0, -1)).map((s) => s.key)).toEqual([`${SCHEDULER_PREFIX}a`]);
    await twoQueue.close();
    await (twoQueue.opts.connection as Redis).quit();
  });

  it('runs a scan job end to end: finds the MCP server and upserts it with a lease', async () => {
    const a = await app(config());
    const job = await a.scheduler.scanNow(mcpTarget({ id: 'e2e' }));
    const done = await waitFor(async () => (await a.queue.getJob(job.id as string))?.returnvalue ?? undefined, 15_000, 'scan job');
    expect(done).toMatchObject({
      targetId: 'e2e',
      endpointsProbed: 1,
      findings: 1,
      upserted: [{ id: `mcp-127-0-0-1-${mcp.port}`, type: 'mcp-server', trust: 'discovered' }],
      rejected: [],
    });
    expect(registry.writes).toContain(`LEASE mcp-servers/mcp-127-0-0-1-${mcp.port}`);
  });

  it('retries with exponential backoff and succeeds once the registry is back', async () => {
    const a = await app(config({ jobs: { attempts: 4, backoffDelayMs: 100 } }));
    registry.failNext(2);
    const job = await a.scheduler.scanNow(mcpTarget({ id: 'retry' }));
    const finished = await waitFor(
      async () => {
        const j = await a.queue.getJob(job.id as string);
        return j?.finishedOn ? j : undefined;
      },
      15_000,
      'retried job',
    );
    expect(await finished.getState()).toBe('completed');
    expect(finished.attemptsMade).toBe(3);
    // Backoff 100 ms then 200 ms: the job cannot have finished sooner than 300 ms after it was added.
    expect((finished.finishedOn ?? 0) - finished.timestamp).toBeGreaterThanOrEqual(300);
  });

  it('moves a job that keeps failing to the failed set with its error', async () => {
    const a = await app(config({ jobs: { attempts: 3, backoffDelayMs: 50 } }));
    registry.setDown(true);
    try {
      const job = await a.scheduler.scanNow(mcpTarget({ id: 'doomed' }));
      const failed = await waitFor(async () => (await a.queue.getFailed()).find((j) => j.id === job.id), 15_000, 'failed job');
      expect(failed.attemptsMade).toBe(3);
      expect(failed.failedReason).toMatch(/registry answered 503/);
      expect(failed.failedReason).not.toContain(TOKEN);
    } finally {
      registry.setDown(false);
    }
  });

  it('fails a refused target at once, without retrying', async () => {
    const a = await app(config({ jobs: { attempts: 5, backoffDelayMs: 50 } }));
    const job = await a.scheduler.scanNow(mcpTarget({ id: 'outside', address: '10.9.8.7:80' }));
    const failed = await waitFor(async () => (await a.queue.getFailed()).find((j) => j.id === job.id), 10_000, 'refused job');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/outside the allowed CIDRs/);
  });

  it('rate-limits scans per target: extra scans are delayed, not dropped', async () => {
    const a = await app(config());
    const limited = mcpTarget({ id: 'limited', rateLimit: { max: 1, durationMs: 1500 } });
    const other = mcpTarget({ id: 'unlimited' });
    const jobs = [await a.scheduler.scanNow(limited), await a.scheduler.scanNow(limited), await a.scheduler.scanNow(other)];
    const finished = await waitFor(
      async () => {
        const all = await Promise.all(jobs.map((j) => a.queue.getJob(j.id as string)));
        return all.every((j) => j?.finishedOn) ? all : undefined;
      },
      15_000,
      'rate-limited jobs',
    );
    const [first, second, third] = finished.map((j) => j?.finishedOn ?? 0) as [number, number, number];
    expect(Math.abs(second - first)).toBeGreaterThanOrEqual(1000);
    expect(third - Math.min(first, second)).toBeLessThan(1000);
    for (const j of finished) expect(await j?.getState()).toBe('completed');
  });

  it('recovers a job whose worker was SIGKILLed mid-scan (stalled-job check) on another worker', async () => {
    const cfg = config({ worker: { lockDurationMs: 1000, stalledIntervalMs: 300, maxStalledCount: 1 } });
    const queue = createScanQueue({ connection: testRedis(), prefix, queueName: cfg.redis.queueName });
    const job = await new ScanScheduler(queue, cfg.jobs).scanNow(mcpTarget({ id: 'stall' }));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(HERE, '../testdata/stalling-worker.ts'), TEST_REDIS_URL, prefix, cfg.redis.queueName],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child worker did not start the job')), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes(`started ${job.id}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(await job.getState()).toBe('active');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const stalled: string[] = [];
    const rescuer = createScanWorker(
      { connection: testRedis(), prefix, queueName: cfg.redis.queueName },
      createScanProcessor({
        heuristics,
        registry: new HttpRegistryClient({ url: registry.url, token: TOKEN, timeoutMs: 1000 }),
        scannerId: 'rescuer',
        maxEndpoints: 100,
        probeAllowCidrs: ['127.0.0.0/8'],
        leaseTtlMs: 0,
        logger: silentLogger(),
      }),
      { concurrency: 1, lockDurationMs: 1000, stalledIntervalMs: 300, maxStalledCount: 1, name: 'rescuer' },
    );
    rescuer.on('stalled', (id) => stalled.push(id));
    try {
      const done = await waitFor(
        async () => {
          const j = await queue.getJob(job.id as string);
          return j?.finishedOn ? j : undefined;
        },
        15_000,
        'recovered job',
      );
      expect(await done.getState()).toBe('completed');
      expect(done.returnvalue).toMatchObject({ targetId: 'stall', findings: 1 });
      expect(done.processedBy).toBe('rescuer');
      expect(stalled).toContain(job.id);
    } finally {
      await rescuer.close();
      await (rescuer.opts.connection as Redis).quit();
      await queue.close();
      await (queue.opts.connection as Redis).quit();
    }
  });

  it('two workers racing on the same target keep one record per server', async () => {
    const cfg = config({ worker: { concurrency: 1 } });
    const w1 = await app(cfg, { scheduler: false, worker: true }, 'w1');
    const w2 = await app(cfg, { scheduler: false, worker: true }, 'w2');
    const target = mcpTarget({ id: 'race' });
    const before = registry.records.get(`mcp-servers/mcp-127-0-0-1-${mcp.port}`)?.writes ?? 0;
    const jobs = await Promise.all([
      w1.scheduler.scanNow(target),
      w2.scheduler.scanNow(target),
      w1.scheduler.scanNow(target),
      w2.scheduler.scanNow(target),
    ]);
    const finished = await waitFor(
      async () => {
        const all = await Promise.all(jobs.map((j) => w1.queue.getJob(j.id as string)));
        return all.every((j) => j?.finishedOn) ? all : undefined;
      },
      20_000,
      'racing jobs',
    );
    expect(new Set(finished.map((j) => j?.processedBy))).toEqual(new Set(['w1', 'w2']));
    const record = registry.records.get(`mcp-servers/mcp-127-0-0-1-${mcp.port}`);
    expect(record?.writes).toBe(before + 4);
    expect([...registry.records.keys()].filter((k) => k.endsWith(`-${mcp.port}`))).toEqual([`mcp-servers/mcp-127-0-0-1-${mcp.port}`]);
  });

  it('shuts down gracefully: a running scan finishes before close() resolves', async () => {
    const silent = await startSilentTcp();
    try {
      const a = await app(config());
      const job = await a.scheduler.scanNow(mcpTarget({ id: 'slow', address: `127.0.0.1:${silent.port}`, probeTimeoutMs: 1200 }));
      await waitFor(async () => (await job.getState()) === 'active', 10_000, 'active job');
      apps.splice(apps.indexOf(a), 1);
      await a.close();
      const queue = createScanQueue({ connection: testRedis(), prefix, queueName: a.queue.name });
      expect(await (await queue.getJob(job.id as string))?.getState()).toBe('completed');
      await queue.close();
      await (queue.opts.connection as Redis).quit();
    } finally {
      await silent.close();
    }
  });

  it('aborts running scans once the shutdown grace period has passed', async () => {
    const silent = await startSilentTcp();
    try {
      const a = await app(config({ worker: { shutdownGraceMs: 200 } }));
      const job = await a.scheduler.scanNow(mcpTarget({ id: 'stuck', address: `127.0.0.1:${silent.port}`, probeTimeoutMs: 20_000 }));
      await waitFor(async () => (await job.getState()) === 'active', 10_000, 'active job');
      apps.splice(apps.indexOf(a), 1);
      const started = Date.now();
      await a.close();
      expect(Date.now() - started).toBeLessThan(5000);
      const queue = createScanQueue({ connection: testRedis(), prefix, queueName: a.queue.name });
      expect(await (await queue.getJob(job.id as string))?.getState()).not.toBe('completed');
      await queue.close();
      await (queue.opts.connection as Redis).quit();
    } finally {
      await silent.close();
    }
  });
});
