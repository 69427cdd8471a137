/**
 * Discovery: find the AI agents and MCP servers that run (network ranges, Docker, Kubernetes) and
 * report them to the registry; BullMQ scheduler and workers for repeatable scans.
 */
export type {
  AgentFinding,
  AgentKind,
  DiscoveredTool,
  Endpoint,
  Finding,
  Heuristics,
  Hint,
  McpServerFinding,
  ProgressListener,
  ScanResult,
  ScanTarget,
  TargetKind,
} from './types.ts';
export { parseNetworkTarget, parsePorts, ipAllowed, type NetworkRange, type RangeResult } from './address.ts';
export {
  DEFAULT_HEURISTICS_FILE,
  HEURISTICS_SCHEMA_ID,
  loadHeuristics,
  matchWorkload,
  parseHeuristics,
  type MatchSignal,
  type Workload,
  type WorkloadMatch,
} from './heuristics.ts';
export { agentEndpointId, mcpServerId, workloadId } from './ids.ts';
export {
  DISCOVER_CONFIG_SCHEMA_ID,
  DISCOVER_CONFIG_FILE,
  discoverSection,
  loadDiscoverConfig,
  normalizeTarget,
  parseDiscoverConfig,
  type DiscoverConfig,
} from './config.ts';
export { runScan, type RunScanOptions } from './scan.ts';
export { scanNetwork, ScanRefusedError, type ScanOptions } from './scanners/network.ts';
export { scanDocker, dockerConnection, type DockerApi } from './scanners/docker.ts';
export { scanKubernetes, kubernetesApi, type KubernetesApi } from './scanners/kubernetes.ts';
export { probeEndpoint, type ProbeOptions, type ProbeOutcome } from './scanners/probe.ts';
export { descriptionHash, MCP_PROTOCOL_VERSION } from './scanners/mcp-probe.ts';
export {
  HttpRegistryClient,
  LEASE_TTL_BOUNDS,
  rejectionError,
  type AgentUpsert,
  type HttpRegistryClientOptions,
  type McpServerUpsert,
  type RegistryClient,
  type RegistryCollection,
  type RegistryTool,
  type UpsertResult,
} from './registry-client.ts';
export { clampLeaseTtl, dedupeFindings, registryLabels, reportFindings, type ReportOptions, type ReportSummary } from './report.ts';
export {
  createScanQueue,
  jobOptions,
  ScanScheduler,
  SCAN_JOB_NAME,
  SCHEDULER_PREFIX,
  type JobPolicy,
  type QueueSettings,
  type ScanJobData,
  type ScanJobResult,
} from './jobs/queue.ts';
export { createScanProcessor, createScanWorker, type ScanProcessorDeps, type ScanWorkerOptions } from './jobs/worker.ts';
export { TargetRateLimiter } from './jobs/rate-limit.ts';
export { createDiscoverApp, type DiscoverApp, type DiscoverAppDeps } from './app.ts';
export { main } from './service.ts';
