/**
 * The Kubernetes scanner: lists pods and services (`@kubernetes/client-node`, in-cluster or a
 * kubeconfig), keeps those whose labels, annotations, images, env var NAMES or ports match the
 * heuristics, and probes their endpoints (pod IP × container ports, cluster IP × service ports).
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { matchWorkload } from '../heuristics.ts';
import { workloadId } from '../ids.ts';
import type { Endpoint, ScanResult, ScanTarget } from '../types.ts';
import { ScanRefusedError, type ScanOptions } from './network.ts';
import { scanWorkloads, type WorkloadCandidate } from './workload.ts';

/** The subset of the core/v1 API the scanner calls (`CoreV1Api` satisfies it). */
export interface KubernetesApi {
  listPods(namespace: string | undefined, continueToken: string | undefined): Promise<{ items: V1Pod[]; continueToken?: string }>;
  listServices(namespace: string | undefined, continueToken: string | undefined): Promise<{ items: V1Service[]; continueToken?: string }>;
}

const PAGE = 500;
const MAX_PAGES = 200;

/** Builds the API from a target: `in-cluster`, or a kubeconfig path (with an optional context). */
export async function kubernetesApi(target: Pick<ScanTarget, 'address' | 'context'>): Promise<KubernetesApi> {
  // The client loads when a cluster is scanned: a network or Docker scan never pays for it.
  const { CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (target.address === 'in-cluster') kc.loadFromCluster();
  else {
    try {
      kc.loadFromFile(target.address);
    } catch (err) {
      throw new ScanRefusedError(
        `cannot load kubeconfig \`${target.address}\`: ${err instanceof Error ? err.message.split('\n')[0] : 'unreadable'}`,
      );
    }
    if (target.context) kc.setCurrentContext(target.context);
  }
  const core = kc.makeApiClient(CoreV1Api);
  const paging = (token: string | undefined) => ({ limit: PAGE, ...(token ? { _continue: token } : {}) });
  const page = <T>(r: { items: T[]; metadata?: { _continue?: string } }) => ({
    items: r.items,
    ...(r.metadata?._continue ? { continueToken: r.metadata._continue } : {}),
  });
  return {
    async listPods(namespace, token) {
      const params = paging(token);
      return page(namespace ? await core.listNamespacedPod({ namespace, ...params }) : await core.listPodForAllNamespaces(params));
    },
    async listServices(namespace, token) {
      const params = paging(token);
      return page(namespace ? await core.listNamespacedService({ namespace, ...params }) : await core.listServiceForAllNamespaces(params));
    },
  };
}

async function listAll<T>(list: (token: string | undefined) => Promise<{ items: T[]; continueToken?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await list(token);
    out.push(...page.items);
    token = page.continueToken;
    if (!token) break;
  }
  return out;
}

/** A pod's candidate, or undefined when it is not running or matches nothing. */
export function podCandidate(
  pod: V1Pod,
  extraPorts: readonly number[],
  options: Pick<ScanOptions, 'heuristics'>,
  target: ScanTarget,
): WorkloadCandidate[] {
  if (pod.status?.phase !== 'Running') return [];
  const ns = pod.metadata?.namespace ?? 'default';
  const podName = pod.metadata?.name ?? 'pod';
  const labels = pod.metadata?.labels ?? {};
  const app = labels['app.kubernetes.io/name'] ?? labels.app ?? podName;
  const out: WorkloadCandidate[] = [];
  for (const c of pod.spec?.containers ?? []) {
    const ports = (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
    const match = matchWorkload(options.heuristics, {
      ...(c.image ? { image: c.image } : {}),
      labels,
      annotations: pod.metadata?.annotations ?? {},
      // INVARIANT: only names; `value` / `valueFrom` are never read.
      envNames: (c.env ?? []).map((e) => e.name),
      ports,
    });
    if (!match.matched) continue;
    const ip = pod.status?.podIP;
    const endpoints: Endpoint[] = ip ? [...new Set([...ports, ...extraPorts])].map((port) => ({ host: ip, port })) : [];
    out.push({
      id: workloadId('k8s', ns, app, c.name),
      name: `${ns}/${app}/${c.name}`,
      endpoints,
      match,
      labels: {
        'argus.dev/source': 'kubernetes',
        'argus.dev/target': target.id,
        'k8s.namespace': ns,
        'k8s.pod': podName,
        'k8s.container': c.name,
        ...(c.image ? { 'k8s.image': c.image.slice(0, 256) } : {}),
        ...(target.labels ?? {}),
      },
    });
  }
  return out;
}

/** A service's candidate (probe-only: a labelled service with no answer adds no record of its own). */
export function serviceCandidate(
  svc: V1Service,
  extraPorts: readonly number[],
  options: Pick<ScanOptions, 'heuristics'>,
  target: ScanTarget,
): WorkloadCandidate | undefined {
  const ports = (svc.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.port);
  const match = matchWorkload(options.heuristics, {
    labels: svc.metadata?.labels ?? {},
    annotations: svc.metadata?.annotations ?? {},
    ports,
  });
  if (!match.matched) return undefined;
  const ip = svc.spec?.clusterIP;
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? 'service';
  const endpoints: Endpoint[] = ip && ip !== 'None' ? [...new Set([...ports, ...extraPorts])].map((port) => ({ host: ip, port })) : [];
  return {
    id: workloadId('k8s', ns, 'svc', name),
    name: `${ns}/svc/${name}`,
    endpoints,
    match: { ...match, strong: false },
    labels: {
      'argus.dev/source': 'kubernetes',
      'argus.dev/target': target.id,
      'k8s.namespace': ns,
      'k8s.service': name,
      ...(target.labels ?? {}),
    },
  };
}

/** Scans a Kubernetes cluster (or one namespace). `api` defaults to a client built from the target. */
export async function scanKubernetes(target: ScanTarget, options: ScanOptions & { api?: KubernetesApi }): Promise<ScanResult> {
  const started = Date.now();
  const api = options.api ?? (await kubernetesApi(target));
  return scanWorkloads('kubernetes', target, options, started, async (extraPorts) => {
    const [pods, services] = await Promise.all([
      listAll((t) => api.listPods(target.namespace, t)),
      listAll((t) => api.listServices(target.namespace, t)),
    ]);
    return [
      ...pods.flatMap((p) => podCandidate(p, extraPorts, options, target)),
      ...services.flatMap((s) => serviceCandidate(s, extraPorts, options, target) ?? []),
    ];
  });
}
