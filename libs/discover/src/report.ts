/** Turns findings into registry upserts and lease heartbeats, one record per finding id. */
import { LEASE_TTL_BOUNDS, type RegistryClient, type UpsertResult } from './registry-client.ts';
import type { Finding } from './types.ts';

/** How findings are reported. */
export interface ReportOptions {
  /** Added to agent labels as `argus.dev/scanner` (the registry takes `discoveredBy` from the credential). */
  scannerId: string;
  /** Lease TTL renewed after each upsert; 0 or undefined: no explicit heartbeat (the upsert refreshes the lease). */
  leaseTtlMs?: number;
}

/** What the registry said about each finding. */
export interface ReportSummary {
  upserted: Array<{ id: string; type: Finding['type']; trust?: string; toolsChanged?: string[] }>;
  rejected: Array<{ id: string; type: Finding['type']; status: number; code: string; message: string }>;
}

/** Keeps the first finding per id (a server reachable on two paths is still one record). */
export function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of findings) if (!seen.has(f.id)) seen.set(f.id, f);
  return [...seen.values()];
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** Keeps labels the registry accepts: at most 64, keys `[A-Za-z0-9][A-Za-z0-9._/-]{0,62}`, values up to 256 characters. */
export function registryLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k) || Object.keys(out).length >= 64) continue;
    out[k] = v.slice(0, 256);
  }
  return out;
}

/** Clamps a lease TTL to what the registry accepts. */
export function clampLeaseTtl(ttlMs: number): number {
  return Math.min(LEASE_TTL_BOUNDS.maxMs, Math.max(LEASE_TTL_BOUNDS.minMs, Math.round(ttlMs)));
}

async function upsert(client: RegistryClient, f: Finding, scannerId: string): Promise<UpsertResult> {
  if (f.type === 'mcp-server') {
    return client.upsertMcpServer(f.id, {
      name: f.name.slice(0, 200),
      url: f.url,
      transport: f.transport,
      tools: f.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
    });
  }
  return client.upsertAgent(f.id, {
    name: f.name.slice(0, 200),
    kind: f.kind,
    ...(f.url !== undefined ? { url: f.url } : {}),
    labels: registryLabels({ ...f.labels, 'argus.dev/scanner': scannerId }),
    ...(f.capabilities !== undefined ? { capabilities: [...new Set(f.capabilities.map((c) => c.slice(0, 200)))].slice(0, 256) } : {}),
  });
}

/**
 * Upserts every finding (sequentially: a registry is not something to flood) and renews its lease.
 * A record the registry rejects is listed, not thrown; an unreachable registry throws so the job retries.
 */
export async function reportFindings(client: RegistryClient, findings: readonly Finding[], options: ReportOptions): Promise<ReportSummary> {
  const summary: ReportSummary = { upserted: [], rejected: [] };
  for (const f of dedupeFindings(findings)) {
    const result = await upsert(client, f, options.scannerId);
    if (!result.ok) {
      summary.rejected.push({ id: f.id, type: f.type, status: result.status, code: result.code, message: result.message });
      continue;
    }
    if (options.leaseTtlMs && options.leaseTtlMs > 0) {
      await client.renewLease(f.type === 'mcp-server' ? 'mcp-servers' : 'agents', result.id, clampLeaseTtl(options.leaseTtlMs));
    }
    summary.upserted.push({
      id: result.id,
      type: f.type,
      ...(result.trust !== undefined ? { trust: result.trust } : {}),
      ...(result.toolsChanged ? { toolsChanged: result.toolsChanged } : {}),
    });
  }
  return summary;
}
