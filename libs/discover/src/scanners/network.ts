/** The network scanner: every endpoint of a CIDR/host × ports range, within limits. */
import { lookup } from 'node:dns/promises';
import { setMaxListeners } from 'node:events';
import { ArgusError } from '@argus/platform';
import { ipAllowed, parseIp, parseNetworkTarget, rangeEndpoints } from '../address.ts';
import { runPool } from '../pool.ts';
import type { Finding, Heuristics, ProgressListener, ScanResult, ScanTarget } from '../types.ts';
import { probeEndpoint } from './probe.ts';

/** Shared scan options (all scanners). */
export interface ScanOptions {
  heuristics: Heuristics;
  /** A target covering more endpoints than this is refused. */
  maxEndpoints: number;
  /** When set, addresses outside these CIDRs are never probed. */
  probeAllowCidrs?: readonly string[];
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** A scan that could not start: bad address, too large, outside the allowed CIDRs. Retrying cannot help. */
export class ScanRefusedError extends ArgusError {
  constructor(message: string) {
    super('invalid_parameter', message);
  }
}

/** Rejects hosts that `probeAllowCidrs` does not allow (CIDR targets: both ends must be allowed). */
export function assertAllowed(host: string, allow: readonly string[] | undefined): void {
  if (!allow) return;
  if (host.includes('/')) {
    const [net] = host.split('/') as [string];
    if (!parseIp(net) || !ipAllowed(net, allow)) throw new ScanRefusedError(`address \`${host}\` is outside the allowed CIDRs`);
    return;
  }
  if (!ipAllowed(host, allow)) throw new ScanRefusedError(`address \`${host}\` is outside the allowed CIDRs`);
}

/**
 * With an allowlist, a host NAME is resolved once and every address it resolves to must be allowed;
 * it is then probed by name (so the `Host` header and the record id stay the name).
 */
async function checkHostName(host: string, allow: readonly string[]): Promise<void> {
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    throw new ScanRefusedError(`host \`${host}\` does not resolve`);
  }
  const outside = addresses.find((a) => !ipAllowed(a.address, allow));
  if (addresses.length === 0 || outside) throw new ScanRefusedError(`host \`${host}\` resolves outside the allowed CIDRs`);
}

/** Scans a network target. Throws `ScanRefusedError` before probing anything when the target is refused. */
export async function scanNetwork(target: ScanTarget, options: ScanOptions): Promise<ScanResult> {
  const started = Date.now();
  const parsed = parseNetworkTarget(target.address, target.ports, options.maxEndpoints);
  if (!parsed.ok) throw new ScanRefusedError(parsed.message);
  const { range } = parsed;
  const hostName = range.hosts.type === 'single' && !parseIp(range.hosts.host) ? range.hosts.host : undefined;
  if (hostName !== undefined && options.probeAllowCidrs) await checkHostName(hostName, options.probeAllowCidrs);
  const deadline = AbortSignal.timeout(target.scanTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  // Each probe lane holds one abort listener on the scan signal while it connects.
  setMaxListeners(target.concurrency + 16, signal);
  const findings: Finding[] = [];
  let done = 0;
  let open = 0;
  const labels = { 'argus.dev/source': 'network', 'argus.dev/target': target.id, ...(target.labels ?? {}) };
  await runPool(
    rangeEndpoints(range),
    target.concurrency,
    async (endpoint) => {
      if (options.probeAllowCidrs && endpoint.host !== hostName && !ipAllowed(endpoint.host, options.probeAllowCidrs)) {
        throw new ScanRefusedError(`address \`${endpoint.host}\` is outside the allowed CIDRs`);
      }
      const outcome = await probeEndpoint(endpoint, {
        heuristics: options.heuristics,
        connectTimeoutMs: target.connectTimeoutMs,
        timeoutMs: target.probeTimeoutMs,
        signal,
        labels,
      });
      // A probe cut short by the scan deadline does not count as probed.
      if (signal.aborted) return;
      if (outcome.open) open++;
      findings.push(...outcome.findings);
      done++;
      options.onProgress?.(done, range.size);
    },
    signal,
  );
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('scan aborted');
  return {
    targetId: target.id,
    kind: 'network',
    endpointsProbed: done,
    endpointsOpen: open,
    findings,
    complete: done === range.size,
    durationMs: Date.now() - started,
  };
}
