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

/**
 * Wall time, CPU time (user + system, which a busy machine inflates far less than wall time) and
 * peak RSS of a short command, through GNU time.
 */
function timeCommand(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '@@ %U %S %M', process.execPath, ...argv], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr ?? r.error}`);
  const [user, sys, kb] = r.stderr.trim().split('\n').pop().replace('@@ ', '').split(' ').map(Number);
  return { ms, cpuMs: (user + sys) * 1000, rssMb: kb / 1024 };
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

/**
 * Resident memory of a process, and the part of it that is anonymous (heaps, wasm memory, malloc)
 * rather than mapped files (node, shared libraries).
 */
function rssMb(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(rollup)[1]);
  return { rss: kb('Rss') / 1024, anon: kb('Anonymous') / 1024 };
}

/** CPU time (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function serveOnce() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'argus-startup-'));
  const env = { ...process.env, ARGUS_LOG_LEVEL: 'warn' };
  delete env.ARGUS_CONFIG;
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
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
    const readyCpuMs = cpuMs(child.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const { rss, anon } = rssMb(child.pid);
    return { readyMs, readyCpuMs, rss, anon };
  } finally {
    child.kill('SIGTERM');
    if (!exited) await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const node = [];
const help = [];
const serveRuns = [];
for (let i = 0; i < runs; i++) {
  node.push(timeCommand(['-e', '0']));
  help.push(timeCommand([bin, '--help']));
}
for (let i = 0; i < runs; i++) serveRuns.push(await serveOnce());
const m = (xs, key) => median(xs.map((x) => x[key]));
const result = {
  runs,
  bin: bin.replace(`${ROOT}/`, ''),
  nodeE0: { ms: m(node, 'ms'), cpuMs: m(node, 'cpuMs'), peakRssMb: m(node, 'rssMb') },
  help: { ms: m(help, 'ms'), cpuMs: m(help, 'cpuMs'), peakRssMb: m(help, 'rssMb') },
  serve: {
    healthzMs: m(serveRuns, 'readyMs'),
    healthzCpuMs: m(serveRuns, 'readyCpuMs'),
    idleRssMb: m(serveRuns, 'rss'),
    idleAnonMb: m(serveRuns, 'anon'),
  },
  samples: { node, help, serve: serveRuns },
  load: readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' '),
  cpus: (await import('node:os')).cpus().length,
};
if (asJson) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const f = (x) => x.toFixed(0).padStart(5);
  process.stdout.write(
    [
      `median of ${runs} (${result.bin}; load average ${result.load} on ${result.cpus} CPUs)`,
      `                                 wall       CPU (user+sys)   memory`,
      `  node -e 0                     ${f(result.nodeE0.ms)} ms   ${f(result.nodeE0.cpuMs)} ms         peak RSS ${f(result.nodeE0.peakRssMb)} MB`,
      `  argus --help                  ${f(result.help.ms)} ms   ${f(result.help.cpuMs)} ms         peak RSS ${f(result.help.peakRssMb)} MB   (target ≤ 400 ms)`,
      `  argus serve → /healthz 200    ${f(result.serve.healthzMs)} ms   ${f(result.serve.healthzCpuMs)} ms         idle RSS ${f(result.serve.idleRssMb)} MB (anonymous ${f(result.serve.idleAnonMb)} MB)   (targets ≤ 1500 ms, ≤ 150 MB)`,
    ].join('\n') + '\n',
  );
}
