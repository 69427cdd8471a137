/**
 * Probes one host:port with every protocol agents and MCP servers speak, within one time budget:
 * a TCP connect first (closed ports cost one refused SYN), then MCP over streamable HTTP (falling
 * back to the legacy SSE transport), the OpenAI-compatible model listing and the A2A agent card.
 */
import { connect } from 'node:net';
import { agentEndpointId, mcpServerId } from '../ids.ts';
import type { Endpoint, Finding, Heuristics } from '../types.ts';
import { probeAgentCard, probeOpenAiModels } from './agent-probe.ts';
import { urlHost } from './http.ts';
import { probeLegacySse, probeStreamableHttp, type McpProbeResult } from './mcp-probe.ts';

/** Options of one endpoint probe. */
export interface ProbeOptions {
  heuristics: Heuristics;
  /** TCP connect timeout (default: `timeoutMs`). */
  connectTimeoutMs?: number;
  /** Budget for the protocol probes once the port is open. */
  timeoutMs: number;
  /** Aborts the probe early (scan deadline, shutdown). */
  signal?: AbortSignal;
  /** Labels added to every finding (e.g. the Docker container it came from). */
  labels?: Readonly<Record<string, string>>;
}

/** What one endpoint turned out to be. */
export interface ProbeOutcome {
  open: boolean;
  findings: Finding[];
}

/**
 * Resolves true when a TCP connection to the endpoint opens within `timeoutMs` and before `signal`
 * aborts. Uses a plain timer: most endpoints of a range are closed, and this keeps their cost at
 * one refused connect.
 */
export function tcpOpen(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const done = (open: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(open);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(onAbort, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function firstOf<T>(candidates: readonly string[], attempt: (path: string) => Promise<T | undefined>): Promise<T | undefined> {
  for (const path of candidates) {
    const found = await attempt(path).catch(() => undefined);
    if (found !== undefined) return found;
  }
  return undefined;
}

function mcpFinding(endpoint: Endpoint, mcp: McpProbeResult, labels: Record<string, string>): Finding {
  return {
    type: 'mcp-server',
    id: mcpServerId(endpoint.host, endpoint.port),
    name: mcp.serverName,
    url: mcp.url,
    transport: mcp.transport,
    tools: mcp.tools,
    labels: {
      ...labels,
      'mcp.protocolVersion': mcp.protocolVersion,
      ...(mcp.serverVersion !== undefined ? { 'mcp.serverVersion': mcp.serverVersion } : {}),
    },
  };
}

/** Probes one endpoint. Never throws for what the endpoint answers; only `signal` ends it early. */
export async function probeEndpoint(endpoint: Endpoint, options: ProbeOptions): Promise<ProbeOutcome> {
  if (!(await tcpOpen(endpoint, options.connectTimeoutMs ?? options.timeoutMs, options.signal))) return { open: false, findings: [] };
  // Only open ports pay for abort signals.
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;

  const base = `http://${urlHost(endpoint.host)}:${endpoint.port}`;
  const { probe } = options.heuristics;
  const labels = { ...(options.labels ?? {}) };

  const mcp = (async () =>
    (await firstOf(probe.mcpPaths, (p) => probeStreamableHttp(base + p, signal))) ??
    (await firstOf(probe.ssePaths, (p) => probeLegacySse(base + p, signal))))();
  const models = firstOf(probe.modelsPaths, (p) => probeOpenAiModels(base + p, signal));
  const card = firstOf(probe.agentCardPaths, (p) => probeAgentCard(base + p, signal));
  const [mcpResult, modelsResult, cardResult] = await Promise.all([mcp, models, card]);

  const findings: Finding[] = [];
  if (mcpResult) findings.push(mcpFinding(endpoint, mcpResult, labels));
  if (cardResult) {
    findings.push({
      type: 'agent',
      id: agentEndpointId('a2a', endpoint.host, endpoint.port),
      name: cardResult.name,
      kind: 'a2a',
      url: base,
      capabilities: cardResult.skills.map((s) => `skill:${s}`),
      labels: {
        ...labels,
        'a2a.cardUrl': cardResult.url,
        ...(cardResult.version !== undefined ? { 'a2a.version': cardResult.version } : {}),
        ...(cardResult.protocolVersion !== undefined ? { 'a2a.protocolVersion': cardResult.protocolVersion } : {}),
      },
    });
  }
  if (modelsResult) {
    findings.push({
      type: 'agent',
      id: agentEndpointId('openai-compatible', endpoint.host, endpoint.port),
      name: `openai-compatible ${endpoint.host}:${endpoint.port}`,
      kind: 'openai-compatible',
      url: base,
      capabilities: modelsResult.models.map((m) => `model:${m}`),
      labels,
    });
  }
  return { open: true, findings };
}
