import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeuristics } from '../heuristics.ts';
import { startFakeDockerEngine, type FakeApi } from '../testdata/fixtures.ts';
import { startMcpServer, startOpenAiStub, startPlainHttp, type RunningServer } from '../testdata/loopback-servers.ts';
import type { ScanTarget } from '../types.ts';
import { dockerConnection, scanDocker } from './docker.ts';

const heuristics = loadHeuristics();
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

describe('docker scanner against a recorded Engine API on loopback', () => {
  let engine: FakeApi;
  let mcp: RunningServer;
  let jsonMcp: RunningServer;
  let openai: RunningServer;
  let plain: Awaited<ReturnType<typeof startPlainHttp>>;

  beforeAll(async () => {
    mcp = await startMcpServer({ name: 'github-mcp', tools: [{ name: 'list_issues', description: 'List issues' }], mode: 'sse' });
    jsonMcp = await startMcpServer({ name: 'internal-tools', tools: [{ name: 'lookup', description: 'Lookup' }], mode: 'json' });
    openai = await startOpenAiStub(['llama3']);
    plain = await startPlainHttp();
    engine = await startFakeDockerEngine({
      MCP_PORT: mcp.port,
      JSON_MCP_PORT: jsonMcp.port,
      OPENAI_PORT: openai.port,
      PLAIN_PORT: plain.port,
    });
  });
  afterAll(async () => {
    await Promise.all([engine, mcp, jsonMcp, openai, plain].map((s) => s.close()));
  });

  const target = (): ScanTarget => ({
    id: 'local-docker',
    kind: 'docker',
    address: engine.url,
    intervalMs: 60_000,
    concurrency: 8,
    connectTimeoutMs: 2000,
    probeTimeoutMs: 10_000,
    scanTimeoutMs: 20_000,
  });

  it('finds the matching containers, probes them, and ignores the rest', async () => {
    const result = await scanDocker(target(), { heuristics, maxEndpoints: 1000, probeAllowCidrs: LOOPBACK });
    const byId = new Map(result.findings.map((f) => [f.id, f]));
    expect([...byId.keys()].sort()).toEqual(
      [
        `mcp-127-0-0-1-${mcp.port}`,
        `mcp-127-0-0-1-${jsonMcp.port}`,
        `openai-127-0-0-1-${openai.port}`,
        'container-docker-crew-research',
      ].sort(),
    );
    expect(byId.get(`mcp-127-0-0-1-${mcp.port}`)).toMatchObject({
      type: 'mcp-server',
      name: 'github-mcp',
      labels: { 'argus.dev/source': 'docker', 'docker.container': 'mcp-github', 'docker.image': 'ghcr.io/acme/mcp-server-github:1.4' },
    });
    expect(byId.get(`mcp-127-0-0-1-${jsonMcp.port}`)?.labels['argus.dev/signals']).toContain('label:argus.dev/mcp');
    expect(byId.get('container-docker-crew-research')).toMatchObject({
      type: 'agent',
      kind: 'container',
      capabilities: expect.arrayContaining(['framework:crewai', 'hint:agent']),
    });
    expect(byId.get('container-docker-crew-research')?.labels['argus.dev/signals']).toContain('env:OPENAI_API_KEY');
    // nginx matched nothing: never probed.
    expect(plain.requests()).toEqual([]);
    // Only reads against the engine.
    expect(engine.requests.every((r) => r.startsWith('GET /containers/'))).toBe(true);
  });

  it('never copies env values (secrets) into findings', async () => {
    const result = await scanDocker(target(), { heuristics, maxEndpoints: 1000, probeAllowCidrs: LOOPBACK });
    const text = JSON.stringify(result);
    expect(text).not.toContain('doNotLeak');
    expect(text).not.toContain('sk-live');
    expect(text).not.toContain('ghp_');
  });

  it('refuses when the matched containers expose more endpoints than allowed', async () => {
    await expect(scanDocker(target(), { heuristics, maxEndpoints: 1, probeAllowCidrs: LOOPBACK })).rejects.toThrow(
      /more than the configured maximum 1/,
    );
  });

  it('talks to the engine over a unix socket, probing published ports on loopback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-docker-sock-'));
    const sock = await startFakeDockerEngine(
      { MCP_PORT: mcp.port, JSON_MCP_PORT: jsonMcp.port, OPENAI_PORT: openai.port, PLAIN_PORT: plain.port },
      join(dir, 'docker.sock'),
    );
    try {
      const result = await scanDocker({ ...target(), address: sock.url }, { heuristics, maxEndpoints: 1000, probeAllowCidrs: LOOPBACK });
      expect(result.findings.map((f) => f.id)).toContain(`mcp-127-0-0-1-${mcp.port}`);
      expect(sock.requests[0]).toMatch(/^GET \/containers\/json\?filters=/);
    } finally {
      await sock.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses unix-socket and TCP engine addresses', () => {
    expect(dockerConnection('unix:///var/run/docker.sock')).toEqual({
      options: { socketPath: '/var/run/docker.sock' },
      hostForPublished: '127.0.0.1',
    });
    expect(dockerConnection('tcp://10.1.2.3:2375')).toEqual({
      options: { host: '10.1.2.3', port: 2375, protocol: 'http' },
      hostForPublished: '10.1.2.3',
    });
    expect(() => dockerConnection('ftp://x')).toThrow(/invalid Docker address/);
  });
});
