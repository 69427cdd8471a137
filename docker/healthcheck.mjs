#!/usr/bin/env node
// Container health probe, without curl or wget in the image.
//   node docker/healthcheck.mjs [url]   GET url (default http://127.0.0.1:$PORT/healthz): exit 0 on 2xx
//   node docker/healthcheck.mjs --redis PING the Redis named by ARGUS_DISCOVER_REDIS_URL / ARGUS_REDIS_URL
// Exits 1 on any failure within 3 s. Prints nothing on success; never prints a URL (it may hold a password).
import { connect } from 'node:net';

const TIMEOUT_MS = 3_000;
const fail = (why) => {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
};
setTimeout(() => fail('timeout'), TIMEOUT_MS).unref();

if (process.argv[2] === '--redis') {
  const raw = process.env.ARGUS_DISCOVER_REDIS_URL ?? process.env.ARGUS_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const url = new URL(raw);
  const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
  socket.on('error', (e) => fail(`redis ${e.code ?? 'error'}`));
  socket.on('connect', () => {
    const auth = url.password
      ? `AUTH ${url.username ? `${decodeURIComponent(url.username)} ` : ''}${decodeURIComponent(url.password)}\r\n`
      : '';
    socket.write(`${auth}PING\r\n`);
  });
  let seen = '';
  socket.on('data', (d) => {
    seen += d.toString('latin1');
    if (seen.includes('+PONG')) {
      socket.destroy();
      process.exit(0);
    }
    if (seen.includes('-')) fail('redis refused PING');
  });
} else {
  const port = process.env.ARGUS_PORT ?? process.env.ARGUS_PROXY_PORT ?? process.env.PORT ?? '8181';
  const url = process.argv[2] ?? `http://127.0.0.1:${port}/healthz`;
  fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then(
    (res) => (res.ok ? process.exit(0) : fail(`status ${res.status}`)),
    (err) => fail(err?.cause?.code ?? err?.name ?? 'error'),
  );
}
