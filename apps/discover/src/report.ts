/** Turns findings into registry upserts and lease heartbeats, one record per finding id. */
import type { RegistryClient, UpsertResult } from './registry-client.ts';
import type { Finding } from './types.ts';

/** How findings are reported. */
export interface ReportOptions {
  /** `discoveredBy` on every record. */
  scannerId: string;
  /** Lease TTL renewed after each upsert; 0 or undefined: no explicit heartbeat (the upsert refreshes the lease). */
  leaseTtlMs?: number;
}

/** What the registry said about each finding. */
export interface ReportSummary {
  upserted: Array<{ id: string; type: Finding['type']; trust?: string }>;
  rejected: Array<{ id: string; type: Finding['type']; status: number; code: string; message: string }>;
}

/** Keeps the first finding per id (a server reachable on two paths is still one record). */
export function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of findings) if (!seen.has(f.id)) seen.set(f.id, f);
  return [...seen.values()];
}

async function upsert(client: RegistryClient, f: Finding, scannerId: string): Promise<UpsertResult> {
  if (f.type === 'mcp-server') {
    return client.upsertMcpServer(f.id, {
      name: f.name,
      url: f.url,
      transport: f.transport,
      tools: f.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
      discoveredBy: scannerId,
      labels: f.labels,
    });
  }
  return client.upsertAgent(f.id, {
    name: f.name,
    kind: f.kind,
    ...(f.url !== undefined ? { url: f.url } : {}),
    discoveredBy: scannerId,
    labels: f.labels,
    ...(f.capabilities !== undefined ? { capabilities: f.capabilities } : {}),
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
      await client.renewLease(f.type === 'mcp-server' ? 'mcp-servers' : 'agents', f.id, options.leaseTtlMs);
    }
    summary.upserted.push({ id: f.id, type: f.type, ...(result.trust !== undefined ? { trust: result.trust } : {}) });
  }
  return summary;
}
