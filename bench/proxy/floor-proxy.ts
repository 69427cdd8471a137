/**
 * The floor: a bare http-proxy-middleware 3.0.7 proxy on node:http with a keep-alive agent and no
 * decision, no credential, no scrubbing. Usage: `floor-proxy.ts <upstream-url>`. Prints `READY <port>`.
 */
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyMiddleware } from 'http-proxy-middleware';

const target = process.argv[2]!;
const proxy = createProxyMiddleware({ target, changeOrigin: true, agent: new Agent({ keepAlive: true }), pathRewrite: { '^/openai': '' } });
const server = createServer((req, res) => void proxy(req, res, () => res.writeHead(404).end()));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
