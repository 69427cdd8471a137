/** One scan of one target, whatever its kind. */
import { scanDocker, type DockerApi } from './scanners/docker.ts';
import { scanKubernetes, type KubernetesApi } from './scanners/kubernetes.ts';
import { scanNetwork, type ScanOptions } from './scanners/network.ts';
import type { ScanResult, ScanTarget } from './types.ts';

/** Scan options plus injectable engine clients (tests; otherwise built from the target address). */
export interface RunScanOptions extends ScanOptions {
  docker?: DockerApi;
  kubernetes?: KubernetesApi;
}

/** Dispatches to the scanner of `target.kind`. Throws `ScanRefusedError` for a target it will not scan. */
export function runScan(target: ScanTarget, options: RunScanOptions): Promise<ScanResult> {
  switch (target.kind) {
    case 'network':
      return scanNetwork(target, options);
    case 'docker':
      return scanDocker(target, { ...options, ...(options.docker ? { api: options.docker } : {}) });
    case 'kubernetes':
      return scanKubernetes(target, { ...options, ...(options.kubernetes ? { api: options.kubernetes } : {}) });
  }
}
