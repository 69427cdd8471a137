/**
 * Wire and domain types of discovery: scan targets (from configuration), heuristics (from the data
 * file), and findings (what a scan returns and the registry receives).
 */

/** Where a target is scanned. */
export type TargetKind = 'network' | 'docker' | 'kubernetes';

/** One scan target as configured (`schemas/config/discover.schema.json#/$defs/target`), defaults applied. */
export interface ScanTarget {
  id: string;
  kind: TargetKind;
  address: string;
  ports?: Array<number | string>;
  namespace?: string;
  context?: string;
  intervalMs: number;
  concurrency: number;
  /** TCP connect timeout per endpoint. */
  connectTimeoutMs: number;
  /** Budget per open endpoint for the protocol probes. */
  probeTimeoutMs: number;
  scanTimeoutMs: number;
  rateLimit?: { max: number; durationMs: number };
  labels?: Record<string, string>;
}

/** What a heuristic match suggests a workload is. */
export type Hint = 'agent' | 'mcp' | 'llm';

/** The heuristics data file (`schemas/discovery/heuristics.schema.json`). */
export interface Heuristics {
  version: 1;
  images: ReadonlyArray<{ pattern: string; hint: Hint; framework?: string }>;
  labels: ReadonlyArray<{ key: string; value?: string; hint: Hint }>;
  annotations: ReadonlyArray<{ key: string; value?: string; hint: Hint }>;
  env: ReadonlyArray<{ name: string; hint: Hint }>;
  ports: ReadonlyArray<{ port: number; hint: Hint; note?: string }>;
  probe: {
    mcpPaths: readonly string[];
    ssePaths: readonly string[];
    modelsPaths: readonly string[];
    agentCardPaths: readonly string[];
  };
}

/** One host:port to probe. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A tool an MCP server lists, as sent to the registry, plus the SHA-256 of its description. */
export interface DiscoveredTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** Hex SHA-256 of `description` (the registry computes its own; this one is for display). */
  descriptionHash: string;
}

/** An MCP server that answered `initialize` and `tools/list`. */
export interface McpServerFinding {
  type: 'mcp-server';
  id: string;
  name: string;
  url: string;
  transport: 'streamable-http' | 'sse';
  tools: DiscoveredTool[];
  labels: Record<string, string>;
}

/** Agent kinds the scanners report. */
export type AgentKind = 'a2a' | 'openai-compatible' | 'container';

/** An agent: an A2A card, an OpenAI-compatible endpoint, or a workload that matched the heuristics. */
export interface AgentFinding {
  type: 'agent';
  id: string;
  name: string;
  kind: AgentKind;
  url?: string;
  capabilities?: string[];
  labels: Record<string, string>;
}

/** Anything a scan found. */
export type Finding = McpServerFinding | AgentFinding;

/** The outcome of one scan: what was found and how much was probed. */
export interface ScanResult {
  targetId: string;
  kind: TargetKind;
  endpointsProbed: number;
  /** Endpoints that accepted a TCP connection. */
  endpointsOpen: number;
  findings: Finding[];
  /** False when the scan deadline cut the scan short (the findings so far are still returned). */
  complete: boolean;
  durationMs: number;
}

/** Progress callback: called once per endpoint probed. */
export type ProgressListener = (done: number, total: number) => void;
