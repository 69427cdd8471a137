/**
 * The Docker scanner: lists running containers through the Engine API (`dockerode`, unix socket or
 * TCP), keeps those whose image, labels, env var NAMES or exposed ports match the heuristics, and
 * probes them on their addresses. Env values are dropped as soon as the names are split off.
 */
import type Docker from 'dockerode';
import { matchWorkload } from '../heuristics.ts';
import { workloadId } from '../ids.ts';
import type { Endpoint, ScanResult, ScanTarget } from '../types.ts';
import { ScanRefusedError, type ScanOptions } from './network.ts';
import { scanWorkloads, type WorkloadCandidate } from './workload.ts';
import { runPool } from '../pool.ts';

/** The subset of the Engine API the scanner calls (dockerode's `Docker` satisfies it). */
export interface DockerApi {
  listContainers(options: { filters: { status: string[] } }): Promise<Docker.ContainerInfo[]>;
  getContainer(id: string): { inspect(): Promise<Docker.ContainerInspectInfo> };
}

/** How to reach a Docker engine, from a target address; `hostForPublished` is where published ports live. */
export function dockerConnection(address: string): { options: Docker.DockerOptions; hostForPublished: string } {
  if (address.startsWith('unix://')) return { options: { socketPath: address.slice('unix://'.length) }, hostForPublished: '127.0.0.1' };
  if (address.startsWith('/')) return { options: { socketPath: address }, hostForPublished: '127.0.0.1' };
  let url: URL;
  try {
    url = new URL(address.replace(/^tcp:\/\//, 'http://'));
  } catch {
    throw new ScanRefusedError(`invalid Docker address \`${address}\``);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ScanRefusedError(`invalid Docker address \`${address}\``);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return {
    options: {
      host,
      port: Number(url.port || (url.protocol === 'https:' ? 2376 : 2375)),
      protocol: url.protocol === 'https:' ? 'https' : 'http',
    },
    hostForPublished: host,
  };
}

function envNames(env: readonly string[] | null | undefined): string[] {
  // INVARIANT: only the part before `=` is kept; values never leave this function.
  return (env ?? []).map((kv) => kv.split('=', 1)[0] ?? '').filter((n) => n.length > 0);
}

function exposedPorts(inspect: Docker.ContainerInspectInfo | undefined): number[] {
  const exposed = inspect?.Config?.ExposedPorts ?? {};
  return Object.keys(exposed)
    .filter((k) => k.endsWith('/tcp') || !k.includes('/'))
    .map((k) => Number(k.split('/')[0]))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}

/** Builds the candidate for one container, or undefined when no heuristic matches. */
export function containerCandidate(
  info: Docker.ContainerInfo,
  inspect: Docker.ContainerInspectInfo | undefined,
  hostForPublished: string,
  extraPorts: readonly number[],
  options: Pick<ScanOptions, 'heuristics'>,
  target: ScanTarget,
): WorkloadCandidate | undefined {
  const privatePorts = new Set<number>([
    ...(info.Ports ?? []).filter((p) => p.Type === 'tcp').map((p) => p.PrivatePort),
    ...exposedPorts(inspect),
  ]);
  const match = matchWorkload(options.heuristics, {
    image: info.Image,
    labels: info.Labels ?? {},
    envNames: envNames(inspect?.Config?.Env),
    ports: [...privatePorts],
  });
  if (!match.matched) return undefined;
  const name = (info.Names?.[0] ?? info.Id.slice(0, 12)).replace(/^\//, '');
  const endpoints: Endpoint[] = [];
  for (const p of info.Ports ?? []) {
    if (p.Type !== 'tcp' || !p.PublicPort) continue;
    const ip = p.IP && p.IP !== '0.0.0.0' && p.IP !== '::' ? p.IP : hostForPublished;
    endpoints.push({ host: ip, port: p.PublicPort });
  }
  const addresses = Object.values(info.NetworkSettings?.Networks ?? {})
    .map((n) => n.IPAddress)
    .filter((ip): ip is string => typeof ip === 'string' && ip.length > 0);
  for (const host of addresses) for (const port of new Set([...privatePorts, ...extraPorts])) endpoints.push({ host, port });
  return {
    id: workloadId('docker', name),
    name,
    endpoints,
    match,
    labels: {
      'argus.dev/source': 'docker',
      'argus.dev/target': target.id,
      'docker.container': name,
      'docker.image': info.Image.slice(0, 256),
      ...(target.labels ?? {}),
    },
  };
}

/** Scans a Docker engine. `api` defaults to a dockerode client built from the target address. */
export async function scanDocker(target: ScanTarget, options: ScanOptions & { api?: DockerApi }): Promise<ScanResult> {
  const started = Date.now();
  const connection = dockerConnection(target.address);
  // dockerode loads when an engine is scanned: a network or cluster scan never pays for it.
  const api: DockerApi = options.api ?? new (await import('dockerode')).default({ ...connection.options, timeout: target.probeTimeoutMs });
  return scanWorkloads('docker', target, options, started, async (extraPorts, signal) => {
    const containers = await api.listContainers({ filters: { status: ['running'] } });
    const candidates: WorkloadCandidate[] = [];
    await runPool(
      containers,
      Math.min(8, target.concurrency),
      async (info) => {
        const inspect = await api.getContainer(info.Id).inspect();
        const candidate = containerCandidate(info, inspect, connection.hostForPublished, extraPorts, options, target);
        if (candidate) candidates.push(candidate);
      },
      signal,
    );
    return candidates;
  });
}
