/**
 * Discovery scan rate: endpoints/s over a loopback range of 2,000 ports with 20 live servers,
 * Argus's network scanner (TCP connect + MCP/OpenAI/A2A probes on open ports) side by side with the
 * floor (a bare TCP-connect sweep, same concurrency), alternating, median of REPS; RSS before/after
 * to show memory stays flat across repeated scans.
 *
 * Run: bash bench/discover/run.sh   (servers pinned to core 0, scanner to core 1)
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { loadHeuristics, normalizeTarget, runScan } from '@argus/discover';

const REPS = Number(process.env.REPS ?? 5);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 128);
const SERVER_CPU = process.env.SERVER_CPU ?? '0';
const PROBE_TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS ?? 5000);

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function startServers(): Promise<{ base: number; count: number; live: number[]; stop: () => void }> {
  const useTaskset = process.platform === 'linux' && process.env.NO_TASKSET !== '1';
  const args = ['--import', 'tsx', new URL('./servers.ts', import.meta.url).pathname];
  const child = useTaskset
    ? spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`servers exited ${code}`)));
  });
  const info = JSON.parse(line) as { base: number; count: number; live: number[] };
  return { ...info, stop: () => child.kill('SIGTERM') };
}

/** The floor: connect to every port, close, count open. */
async function tcpSweep(base: number, count: number): Promise<{ open: number; ms: number }> {
  let next = 0;
  let open = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const port = base + next++;
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        const t = setTimeout(() => (s.destroy(), resolve(false)), 2000);
        s.once('connect', () => (clearTimeout(t), s.destroy(), resolve(true)));
        s.once('error', () => (clearTimeout(t), resolve(false)));
      });
      if (ok) open++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return { open, ms: performance.now() - started };
}

const heuristics = loadHeuristics();

async function argusScan(base: number, count: number): Promise<{ found: number; open: number; ms: number }> {
  const target = normalizeTarget({
    id: 'bench',
    kind: 'network',
    address: `127.0.0.1:${base}-${base + count - 1}`,
    concurrency: CONCURRENCY,
    connectTimeoutMs: 1000,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
  });
  const started = performance.now();
  const r = await runScan(target, { heuristics, maxEndpoints: count, probeAllowCidrs: ['127.0.0.0/8'] });
  return { found: r.findings.length, open: r.endpointsOpen, ms: performance.now() - started };
}

const servers = await startServers();
try {
  const { base, count, live } = servers;
  // Warm-up (JIT, connection paths) — not measured.
  await tcpSweep(base, count);
  await argusScan(base, count);
  gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let peakRss = rssBefore;
  const floorMs: number[] = [];
  let missed = 0;
  const argusMs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const f = await tcpSweep(base, count);
    if (f.open !== live.length) throw new Error(`floor saw ${f.open} open ports, expected ${live.length}`);
    floorMs.push(f.ms);
    const a = await argusScan(base, count);
    // A live server not found in time (probe budget exceeded on a loaded machine) is counted, not hidden.
    missed += live.length - a.found;
    argusMs.push(a.ms);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  // Memory flat: 20 more scans, sampling RSS (after a GC) every 5 scans.
  const rssSeriesMiB: number[] = [];
  for (let i = 1; i <= 20; i++) {
    await argusScan(base, count);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (i % 5 === 0) {
      gc?.();
      rssSeriesMiB.push(mib(process.memoryUsage().rss));
    }
  }
  gc?.();
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;
  const floorRate = count / (median(floorMs) / 1000);
  const argusRate = count / (median(argusMs) / 1000);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    endpoints: count,
    live: live.length,
    concurrency: CONCURRENCY,
    reps: REPS,
    floor: { medianMs: Math.round(median(floorMs)), endpointsPerSec: Math.round(floorRate), runsMs: floorMs.map(Math.round) },
    argus: { medianMs: Math.round(median(argusMs)), endpointsPerSec: Math.round(argusRate), runsMs: argusMs.map(Math.round) },
    ratio: Math.round((argusRate / floorRate) * 100) / 100,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    liveServersMissedInMeasuredReps: missed,
    memory: {
      scansBetween: REPS + 20,
      rssBeforeMiB: mib(rssBefore),
      rssAfterMiB: mib(rssAfter),
      peakRssMiB: mib(peakRss),
      rssEvery5ScansMiB: rssSeriesMiB,
      heapBeforeMiB: mib(heapBefore),
      heapAfterMiB: mib(heapAfter),
      gcExposed: gc !== undefined,
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  servers.stop();
}
