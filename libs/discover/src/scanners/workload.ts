/**
 * Shared by the Docker and Kubernetes scanners: probe the endpoints of workloads that matched the
 * heuristics, and report a workload that matched strongly but answered no protocol as a `container`
 * agent, so it is catalogued anyway.
 */
import { setMaxListeners } from 'node:events';
import { describeSignals, type WorkloadMatch } from '../heuristics.ts';
import { ipAllowed } from '../address.ts';
import { runPool } from '../pool.ts';
import type { Endpoint, Finding, Heuristics, ScanTarget } from '../types.ts';
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
