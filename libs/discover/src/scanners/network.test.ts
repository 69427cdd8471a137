import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeuristics } from '../heuristics.ts';
import {
  freePortBlock,
  startA2aAgent,
  startSilentTcp,
  startLegacySseMcpServer,
  startMcpServer,
  startOpenAiStub,
  startPlainHttp,
  type RunningServer,
  type TestTool,
} from '../testdata/loopback-servers.ts';
import type { McpServerFinding, ScanTarget } from '../types.ts';
import { descriptionHash } from './mcp-probe.ts';
import { scanNetwork, ScanRefusedError } from './network.ts';

const heuristics = loadHeuristics();
const LOOPBACK = ['127.0.0.0/8', '::1/128'];

function target(address: string, over: Partial<ScanTarget> = {}): ScanTarget {
  return {
    id: 't',
    kind: 'network',
    address,
    intervalMs: 60_000,
    concurrency: 32,
    connectTimeoutMs: 2000,
    probeTimeoutMs: 10_000,
    scanTimeoutMs: 30_000,
    ...over,
  };
}

describe('network scanner on loopback', () => {
  const servers: RunningServer[] = [];
  const sseTools: TestTool[] = [
    { name: 'search_orders', description: 'Search orders by customer' },
    { name: 'get_order', description: 'Fetch one order' },
  ];
  let base: number;
  const BLOCK = 10;
  let mcpSse: Awaited<ReturnType<typeof startMcpServer>>;
  let mcpJson: RunningServer;
  let legacy: RunningServer;
  let openai: Awaited<ReturnType<typeof startOpenAiStub>>;
  let a2a: RunningServer;
  let plain: Awaited<ReturnType<typeof startPlainHttp>>;

  beforeAll(async () => {
    // Our own block of ports: servers at base+1..base+6, the other ports of the block closed.
    base = await freePortBlock(BLOCK);
    mcpSse = await startMcpServer({ name: 'orders-mcp', tools: sseTools, mode: 'sse', port: base + 1 });
    mcpJson = await startMcpServer({
      name: 'weather-mcp',
      tools: [{ name: 'forecast', description: 'Weather forecast' }],
      mode: 'json',
      port: base + 2,
    });
    legacy = await startLegacySseMcpServer({ name: 'legacy-mcp', tools: [{ name: 'echo', description: 'Echo back' }], port: base + 3 });
    openai = await startOpenAiStub(undefined, base + 4);
    a2a = await startA2aAgent('order-agent', base + 5);
    plain = await startPlainHttp(base + 6);
    servers.push(mcpSse, mcpJson, legacy, openai, a2a, plain);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('finds exactly the MCP servers, the OpenAI-compatible stub and the A2A agent, and ignores a plain HTTP server', async () => {
    const lo = base;
    const hi = base + BLOCK - 1;
    const result = await scanNetwork(target(`127.0.0.1:${lo}-${hi}`), { heuristics, maxEndpoints: 70_000, probeAllowCidrs: LOOPBACK });

    expect(result.endpointsProbed).toBe(hi - lo + 1);
    expect(result.complete).toBe(true);
    expect(result.endpointsOpen).toBeGreaterThanOrEqual(6);
    const ids = result.findings.map((f) => f.id).sort();
    expect(ids).toEqual(
      [
        `mcp-127-0-0-1-${mcpSse.port}`,
        `mcp-127-0-0-1-${mcpJson.port}`,
        `mcp-127-0-0-1-${legacy.port}`,
        `openai-127-0-0-1-${openai.port}`,
        `a2a-127-0-0-1-${a2a.port}`,
      ].sort(),
    );

    const orders = result.findings.find((f) => f.id === `mcp-127-0-0-1-${mcpSse.port}`) as McpServerFinding;
    expect(orders).toMatchObject({
      type: 'mcp-server',
      name: 'orders-mcp',
      transport: 'streamable-http',
      url: `http://127.0.0.1:${mcpSse.port}/mcp`,
    });
    expect(orders.tools.map((t) => [t.name, t.description, t.descriptionHash])).toEqual(
      sseTools.map((t) => [t.name, t.description, descriptionHash(t.description)]),
    );
    expect(orders.tools[0]?.inputSchema).toMatchObject({ type: 'object', properties: { query: { type: 'string' } } });

    const weather = result.findings.find((f) => f.id === `mcp-127-0-0-1-${mcpJson.port}`) as McpServerFinding;
    expect(weather.tools.map((t) => t.name)).toEqual(['forecast']);
    const old = result.findings.find((f) => f.id === `mcp-127-0-0-1-${legacy.port}`) as McpServerFinding;
    expect(old).toMatchObject({ transport: 'sse', name: 'legacy-mcp', url: `http://127.0.0.1:${legacy.port}/sse` });
    expect(old.tools.map((t) => t.name)).toEqual(['echo']);

    expect(result.findings.find((f) => f.id === `openai-127-0-0-1-${openai.port}`)).toMatchObject({
      type: 'agent',
      kind: 'openai-compatible',
      capabilities: ['model:gpt-test', 'model:embed-test'],
    });
    expect(result.findings.find((f) => f.id === `a2a-127-0-0-1-${a2a.port}`)).toMatchObject({
      type: 'agent',
      kind: 'a2a',
      name: 'order-agent',
      capabilities: ['skill:order-status'],
    });
  });

  it('sends only the read-only part of MCP (initialize, initialized, tools/list, session close) and no credentials', async () => {
    const before = mcpSse.received().length;
    await scanNetwork(target(`127.0.0.1:${mcpSse.port}`), { heuristics, maxEndpoints: 10 });
    const seen = mcpSse.received().slice(before);
    expect(seen).toEqual(['POST initialize', 'POST notifications/initialized', 'POST tools/list', 'DELETE -']);
    const plainBefore = plain.requests().length;
    await scanNetwork(target(`127.0.0.1:${plain.port}`), { heuristics, maxEndpoints: 10 });
    const plainSeen = plain.requests().slice(plainBefore);
    expect(plainSeen.length).toBeGreaterThan(0);
    for (const r of plainSeen) expect(r).toMatch(/^(GET|POST) /);
    expect(
      openai
        .requests()
        .every(
          (r) =>
            r === 'GET /v1/models' ||
            r.startsWith('GET /.well-known/') ||
            r.startsWith('POST /mcp') ||
            r.startsWith('POST /') ||
            r.startsWith('GET /sse'),
        ),
    ).toBe(true);
  });

  it('refuses a range larger than the configured maximum before probing anything', async () => {
    const before = plain.requests().length;
    await expect(scanNetwork(target('127.0.0.0/24', { ports: ['1-1000'] }), { heuristics, maxEndpoints: 1000 })).rejects.toThrow(
      /covers 254000 endpoints, more than the configured maximum 1000/,
    );
    expect(plain.requests().length).toBe(before);
  });

  it('probes a host name whose addresses are all allowed, by name; refuses one resolving elsewhere', async () => {
    const result = await scanNetwork(target(`localhost:${mcpJson.port}`), { heuristics, maxEndpoints: 10, probeAllowCidrs: LOOPBACK });
    expect(result.findings).toMatchObject([{ id: `mcp-localhost-${mcpJson.port}`, url: `http://localhost:${mcpJson.port}/mcp` }]);
    await expect(
      scanNetwork(target(`localhost:${mcpJson.port}`), { heuristics, maxEndpoints: 10, probeAllowCidrs: ['10.0.0.0/8'] }),
    ).rejects.toThrow(/host `localhost` resolves outside the allowed CIDRs/);
  });

  it('refuses addresses outside the allowed CIDRs', async () => {
    await expect(scanNetwork(target('10.0.0.1:80'), { heuristics, maxEndpoints: 10, probeAllowCidrs: LOOPBACK })).rejects.toBeInstanceOf(
      ScanRefusedError,
    );
  });

  it('stops at the scan deadline and reports an incomplete scan', async () => {
    const silent = await startSilentTcp(base + 8);
    try {
      const started = Date.now();
      const result = await scanNetwork(target(`127.0.0.1:${silent.port}`, { probeTimeoutMs: 10_000, scanTimeoutMs: 500 }), {
        heuristics,
        maxEndpoints: 10,
      });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.complete).toBe(false);
      expect(result.findings).toEqual([]);
    } finally {
      await silent.close();
    }
  });

  it('bounds each probe by its timeout', async () => {
    const silent = await startSilentTcp(base + 8);
    try {
      const started = Date.now();
      const result = await scanNetwork(target(`127.0.0.1:${silent.port}`, { probeTimeoutMs: 300 }), { heuristics, maxEndpoints: 10 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result).toMatchObject({ complete: true, endpointsOpen: 1, findings: [] });
    } finally {
      await silent.close();
    }
  });
});
