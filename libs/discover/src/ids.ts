/**
 * Deterministic registry ids: the same thing found twice (by any worker, any scan) gets the same
 * id, so the registry's idempotent upsert keeps one record.
 */

const MAX_ID = 128;

/** Lowercases and replaces every run of characters outside `[a-z0-9]` with one `-`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function join(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts.map(slug).filter((p) => p.length > 0)].join('-').slice(0, MAX_ID).replace(/-+$/, '');
}

/** `mcp-127-0-0-1-8123`: an MCP server is identified by where it listens. */
export function mcpServerId(host: string, port: number): string {
  return join('mcp', host, String(port));
}

/** `a2a-10-0-0-5-41241`, `openai-10-0-0-5-8000`: an agent endpoint by protocol and address. */
export function agentEndpointId(kind: 'a2a' | 'openai-compatible', host: string, port: number): string {
  return join(kind === 'a2a' ? 'a2a' : 'openai', host, String(port));
}

/** `container-docker-<name>` / `container-k8s-<namespace>-<pod>`: a workload that matched the heuristics. */
export function workloadId(source: 'docker' | 'k8s', ...name: string[]): string {
  return join('container', source, ...name);
}
