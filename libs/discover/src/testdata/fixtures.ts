/**
 * Recorded Docker Engine API and Kubernetes API responses (trimmed to the fields the scanners read),
 * served by loopback HTTP servers. Ports are placeholders (`"${MCP_PORT}"`) filled in with the test's
 * live loopback servers.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Reads a fixture and replaces `"${NAME}"` placeholders with numbers. */
export function loadFixture(relative: string, ports: Record<string, number>): unknown {
  let text = readFileSync(join(HERE, relative), 'utf8');
  for (const [name, port] of Object.entries(ports)) text = text.split(`"\${${name}}"`).join(String(port));
  if (/"\$\{[A-Z_]+\}"/.test(text)) throw new Error(`unfilled placeholder in ${relative}`);
  return JSON.parse(text) as unknown;
}

/** A fake API server: serves recorded responses and records every request line. */
export interface FakeApi {
  url: string;
  port: number;
  requests: string[];
  close(): Promise<void>;
}

async function serve(
  handler: (method: string, url: URL, headers: Record<string, string | string[] | undefined>) => { status: number; body: unknown },
  socketPath?: string,
): Promise<FakeApi> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(`${req.method} ${url.pathname}${url.search}${req.headers.authorization ? ` [${req.headers.authorization}]` : ''}`);
    const { status, body } = handler(req.method ?? 'GET', url, req.headers);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  if (socketPath) {
    await new Promise<void>((r) => server.listen(socketPath, () => r()));
    return { url: `unix://${socketPath}`, port: 0, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Answers `GET /containers/json` and `GET /containers/{id}/json` (also under a `/v1.xx` prefix), on
 * loopback TCP or, with `socketPath`, on a unix socket like the real engine.
 */
export function startFakeDockerEngine(ports: Record<string, number>, socketPath?: string): Promise<FakeApi> {
  const list = loadFixture('docker/containers.json', ports) as unknown[];
  const inspect = loadFixture('docker/inspect.json', ports) as Record<string, unknown>;
  return serve((method, url) => {
    const path = url.pathname.replace(/^\/v1\.\d+/, '');
    if (method !== 'GET') return { status: 405, body: { message: 'method not allowed' } };
    if (path === '/containers/json') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { status?: string[] };
      return { status: 200, body: filters.status?.includes('running') ? list : [] };
    }
    const m = /^\/containers\/([0-9a-f]+)\/json$/.exec(path);
    if (m && inspect[m[1] ?? '']) return { status: 200, body: inspect[m[1] ?? ''] };
    return { status: 404, body: { message: `No such container: ${path}` } };
  }, socketPath);
}

/** Answers pod and service lists (cluster-wide and namespaced), pods in two pages (`continue`). */
export function startFakeKubernetesApi(ports: Record<string, number>, token: string): Promise<FakeApi> {
  const podPages = loadFixture('kubernetes/pods.json', ports) as Array<{ items: Array<{ metadata: { namespace: string } }> }>;
  const services = loadFixture('kubernetes/services.json', ports) as { items: Array<{ metadata: { namespace: string } }> };
  return serve((method, url, headers) => {
    if (headers.authorization !== `Bearer ${token}`) return { status: 401, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 } };
    if (method !== 'GET') return { status: 405, body: { kind: 'Status', code: 405 } };
    const m = /^\/api\/v1\/(?:namespaces\/([a-z0-9-]+)\/)?(pods|services)$/.exec(url.pathname);
    if (!m) return { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 } };
    const ns = m[1];
    if (m[2] === 'services') {
      return { status: 200, body: { ...services, items: services.items.filter((s) => !ns || s.metadata.namespace === ns) } };
    }
    const page = url.searchParams.get('continue') === 'page-2' ? podPages[1] : podPages[0];
    return { status: 200, body: { ...page, items: (page?.items ?? []).filter((p) => !ns || p.metadata.namespace === ns) } };
  });
}
