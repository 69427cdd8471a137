import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeuristics } from '../heuristics.ts';
import { startFakeKubernetesApi, type FakeApi } from '../testdata/fixtures.ts';
import { startA2aAgent, startMcpServer, startOpenAiStub, startPlainHttp, type RunningServer } from '../testdata/loopback-servers.ts';
import type { ScanTarget } from '../types.ts';
import { scanKubernetes } from './kubernetes.ts';

const heuristics = loadHeuristics();
const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const TOKEN = 'kube-token-doNotLeak';

describe('kubernetes scanner against a recorded Kubernetes API on loopback', () => {
  let api: FakeApi;
  let mcp: RunningServer;
  let a2a: RunningServer;
  let openai: RunningServer;
  let plain: Awaited<ReturnType<typeof startPlainHttp>>;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    mcp = await startMcpServer({ name: 'files-mcp', tools: [{ name: 'read_file', description: 'Read a file' }], mode: 'sse' });
    a2a = await startA2aAgent('planner');
    openai = await startOpenAiStub(['gateway-model']);
    plain = await startPlainHttp();
    api = await startFakeKubernetesApi({ MCP_PORT: mcp.port, A2A_PORT: a2a.port, OPENAI_PORT: openai.port, PLAIN_PORT: plain.port }, TOKEN);
    dir = mkdtempSync(join(tmpdir(), 'argus-discover-k8s-'));
    kubeconfig = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${api.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: scanner',
        '  user:',
        `    token: ${TOKEN}`,
        'contexts:',
        '- name: other',
        '  context: { cluster: test, user: nobody }',
        '- name: test',
        '  context: { cluster: test, user: scanner }',
        'current-context: other',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await Promise.all([api, mcp, a2a, openai, plain].map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (over: Partial<ScanTarget> = {}): ScanTarget => ({
    id: 'cluster',
    kind: 'kubernetes',
    address: kubeconfig,
    context: 'test',
    intervalMs: 60_000,
    concurrency: 8,
    connectTimeoutMs: 2000,
    probeTimeoutMs: 10_000,
    scanTimeoutMs: 20_000,
    ...over,
  });

  it('lists pods (all pages) and services through the kubeconfig context, and finds the agents and MCP servers', async () => {
    const result = await scanKubernetes(target(), { heuristics, maxEndpoints: 1000, probeAllowCidrs: LOOPBACK });
    const byId = new Map(result.findings.map((f) => [f.id, f]));
    expect([...byId.keys()].sort()).toEqual(
      [
        `mcp-127-0-0-1-${mcp.port}`,
        `a2a-127-0-0-1-${a2a.port}`,
        `openai-127-0-0-1-${openai.port}`,
        'container-k8s-agents-summarizer-worker',
      ].sort(),
    );
    expect(byId.get(`mcp-127-0-0-1-${mcp.port}`)).toMatchObject({
      name: 'files-mcp',
      labels: { 'argus.dev/source': 'kubernetes', 'k8s.namespace': 'tools', 'k8s.pod': 'mcp-files-7d9f8c6b5-x2x7k' },
    });
    expect(byId.get(`a2a-127-0-0-1-${a2a.port}`)).toMatchObject({ kind: 'a2a', name: 'planner' });
    expect(byId.get(`openai-127-0-0-1-${openai.port}`)?.labels).toMatchObject({ 'k8s.service': 'llm-gateway' });
    expect(byId.get('container-k8s-agents-summarizer-worker')).toMatchObject({
      kind: 'container',
      capabilities: expect.arrayContaining(['framework:langchain']),
    });
    expect(plain.requests()).toEqual([]);
    expect(
      api.requests.filter((r) => r.startsWith('GET /api/v1/pods?') && r.includes('continue=page-2') && r.endsWith(`[Bearer ${TOKEN}]`)),
    ).toHaveLength(1);
    expect(api.requests.every((r) => r.startsWith('GET /api/v1/'))).toBe(true);
    expect(JSON.stringify(result)).not.toContain('doNotLeak');
  });

  it('limits the scan to one namespace', async () => {
    const result = await scanKubernetes(target({ namespace: 'tools' }), { heuristics, maxEndpoints: 1000, probeAllowCidrs: LOOPBACK });
    expect(result.findings.map((f) => f.id)).toEqual([`mcp-127-0-0-1-${mcp.port}`]);
    expect(api.requests.some((r) => r.startsWith('GET /api/v1/namespaces/tools/pods'))).toBe(true);
  });

  it('refuses an unreadable kubeconfig', async () => {
    await expect(scanKubernetes(target({ address: join(dir, 'missing.yaml') }), { heuristics, maxEndpoints: 10 })).rejects.toThrow(
      /cannot load kubeconfig/,
    );
  });
});
