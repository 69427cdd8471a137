/**
 * Shared by the Docker and Kubernetes scanners: probe the endpoints of workloads that matched the
 * heuristics, and report a workload that matched strongly but answered no protocol as a `container`
 * agent, so it is catalogued anyway.
 */
import { setMaxListeners } from 'node:events';
import { describeSignals, type WorkloadMatch } from '../heuristics.ts';
import { ipAllowed, parsePorts } from '../address.ts';
import { runPool } from '../pool.ts';
import type { Endpoint, Finding, Heuristics, ScanResult, ScanTarget } from '../types.ts';
import { ScanRefusedError, type ScanOptions } from './network.ts';
import { probeEndpoint } from './probe.ts';

/** A workload to follow up on: where it listens and what the heuristics said. */
export interface WorkloadCandidate {
  /** Registry id for the workload itself (used when no protocol answers). */
  id: string;
  name: string;
  endpoints: Endpoint[];
  match: WorkloadMatch;
  labels: Record<string, string>;
}

/** Options of the follow-up probe. */
export interface WorkloadProbeOptions {
  heuristics: Heuristics;
  probeAllowCidrs?: readonly string[];
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Probes every candidate's endpoints (deduplicated) and builds the findings. */
export async function probeWorkloads(
  candidates: readonly WorkloadCandidate[],
  target: ScanTarget,
  options: WorkloadProbeOptions,
): Promise<{ findings: Finding[]; probed: number; open: number }> {
  const jobs: Array<{ candidate: WorkloadCandidate; endpoint: Endpoint }> = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    for (const endpoint of candidate.endpoints) {
      const key = `${endpoint.host}|${endpoint.port}`;
      if (seen.has(key)) continue;
      if (options.probeAllowCidrs && !ipAllowed(endpoint.host, options.probeAllowCidrs)) continue;
      seen.add(key);
      jobs.push({ candidate, endpoint });
    }
  }
  // Each probe lane holds one abort listener on the scan signal while it connects.
  setMaxListeners(target.concurrency + 16, options.signal);
  const answered = new Set<string>();
  const findings: Finding[] = [];
  let probed = 0;
  let open = 0;
  await runPool(
    jobs,
    target.concurrency,
    async ({ candidate, endpoint }) => {
      const labels = { ...candidate.labels, 'argus.dev/signals': describeSignals(candidate.match.signals) };
      const outcome = await probeEndpoint(endpoint, {
        heuristics: options.heuristics,
        connectTimeoutMs: target.connectTimeoutMs,
        timeoutMs: target.probeTimeoutMs,
        signal: options.signal,
        labels,
      });
      if (options.signal.aborted) return;
      probed++;
      if (outcome.open) open++;
      if (outcome.findings.length > 0) answered.add(candidate.id);
      findings.push(...outcome.findings);
      options.onProgress?.(probed, jobs.length);
    },
    options.signal,
  );
  for (const candidate of candidates) {
    if (answered.has(candidate.id) || !candidate.match.strong) continue;
    const frameworks = [...new Set(candidate.match.signals.flatMap((s) => (s.framework ? [s.framework] : [])))];
    const hints = [...new Set(candidate.match.signals.map((s) => s.hint))];
    findings.push({
      type: 'agent',
      id: candidate.id,
      name: candidate.name,
      kind: 'container',
      capabilities: [...frameworks.map((f) => `framework:${f}`), ...hints.map((h) => `hint:${h}`)],
      labels: { ...candidate.labels, 'argus.dev/signals': describeSignals(candidate.match.signals) },
    });
  }
  return { findings, probed, open };
}

const SOURCE_NAMES = { docker: 'Docker', kubernetes: 'Kubernetes' } as const;

/**
 * Runs a Docker or Kubernetes scan around the listing `collect` makes: the target's extra ports
 * parsed, the scan deadline set, the candidates collected, refused when they cover more endpoints
 * than the configured maximum, probed, and the result reported (`complete` false when the
 * deadline cut it short). `started` is when the scan began (before its client was built).
 */
export async function scanWorkloads(
  kind: keyof typeof SOURCE_NAMES,
  target: ScanTarget,
  options: ScanOptions,
  started: number,
  collect: (extraPorts: readonly number[], signal: AbortSignal) => Promise<WorkloadCandidate[]>,
): Promise<ScanResult> {
  const extra = parsePorts(target.ports ?? []);
  if (!extra.ok) throw new ScanRefusedError(extra.message);
  const deadline = AbortSignal.timeout(target.scanTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const candidates = await collect(extra.ports, signal);
  const total = candidates.reduce((n, c) => n + c.endpoints.length, 0);
  if (total > options.maxEndpoints)
    throw new ScanRefusedError(
      `${SOURCE_NAMES[kind]} target \`${target.id}\` covers ${total} endpoints, more than the configured maximum ${options.maxEndpoints}`,
    );
  const probed = await probeWorkloads(candidates, target, {
    heuristics: options.heuristics,
    ...(options.probeAllowCidrs ? { probeAllowCidrs: options.probeAllowCidrs } : {}),
    signal,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('scan aborted');
  return {
    targetId: target.id,
    kind,
    endpointsProbed: probed.probed,
    endpointsOpen: probed.open,
    findings: probed.findings,
    complete: !deadline.aborted,
    durationMs: Date.now() - started,
  };
}
