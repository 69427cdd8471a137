#!/usr/bin/env node
/**
 * Start-up benchmark of the `argus` command (see run.sh): wall time of `node -e 0`, of
 * `argus --help`, of `argus serve` until `GET /healthz` answers 200, and the idle RSS of the
 * server one second after that. Each figure is the median of RUNS runs (default 5).
 *
 * Usage: node bench/startup/measure.mjs [--runs N] [--bin path/to/argus.mjs] [--json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const runs = Number(flag('--runs', process.env.RUNS ?? '5'));
const bin = resolve(ROOT, flag('--bin', 'apps/cli/bin/argus.mjs'));
const asJson = args.includes('--json');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timeCommand(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Peak RSS of a short command, from GNU time when it is there (kB → MB). */
function peakRss(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : undefined;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function healthz(port) {
  return new Promise((res) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 500 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.once('error', () => res(false));
    req.once('timeout', () => {
      req.destroy();
      res(false);
    });
  });
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

async function serveOnce() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'argus-startup-'));
  const env = { ...process.env, ARGUS_LOG_LEVEL: 'warn' };
  delete env.ARGUS_CONFIG;
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`argus serve exited before answering /healthz: ${stderr}`);
      if (await healthz(port)) break;
      if (Number(process.hrtime.bigint() - t0) / 1e6 > 60_000) throw new Error('argus serve did not answer /healthz within 60 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await new Promise((r) => setTimeout(r, 1000));
    const rss = rssMb(child.pid);
    return { readyMs, rss };
  } finally {
    child.kill('SIGTERM');
    if (!exited) await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const nodeMs = [];
const helpMs = [];
const serveMs = [];
const serveRss = [];
for (let i = 0; i < runs; i++) {
  nodeMs.push(timeCommand(['-e', '0']));
  helpMs.push(timeCommand([bin, '--help']));
}
for (let i = 0; i < runs; i++) {
  const r = await serveOnce();
  serveMs.push(r.readyMs);
  serveRss.push(r.rss);
}
const helpRss = peakRss([bin, '--help']);
const nodeRss = peakRss(['-e', '0']);
const result = {
  runs,
  bin: bin.replace(`${ROOT}/`, ''),
  nodeE0Ms: median(nodeMs),
  helpMs: median(helpMs),
  serveHealthzMs: median(serveMs),
  serveIdleRssMb: median(serveRss),
  ...(helpRss !== undefined ? { helpPeakRssMb: helpRss } : {}),
  ...(nodeRss !== undefined ? { nodeE0PeakRssMb: nodeRss } : {}),
  samples: { nodeMs, helpMs, serveMs, serveRss },
  load: readFileSync('/proc/loadavg', 'utf8').trim(),
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const f = (x) => x.toFixed(0);
  process.stdout.write(
    [
      `median of ${runs} (${result.bin}; load average ${result.load.split(' ').slice(0, 3).join(' ')})`,
      `  node -e 0                       ${f(result.nodeE0Ms)} ms${nodeRss !== undefined ? `   peak RSS ${f(nodeRss)} MB` : ''}`,
      `  argus --help                    ${f(result.helpMs)} ms${helpRss !== undefined ? `   peak RSS ${f(helpRss)} MB` : ''}   (target ≤ 400 ms)`,
      `  argus serve → /healthz 200      ${f(result.serveHealthzMs)} ms   (target ≤ 1500 ms)`,
      `  argus serve idle RSS (1 s)      ${f(result.serveIdleRssMb)} MB   (target ≤ 150 MB)`,
    ].join('\n') + '\n',
  );
}
