/**
 * Proxy benchmark: what deciding, injecting and scrubbing cost on top of forwarding.
 *
 * Five targets in the same run, alternating, 3 repetitions, medians quoted:
 *   direct      — the upstream itself (no proxy);
 *   floor       — a bare http-proxy-middleware proxy, no decision (floor-proxy.ts);
 *   argus       — createProxyApp with a bare cedar-wasm decision and an in-memory recorder
 *                 (argus-proxy.ts): the proxy's own machinery;
 *   serve       — the product as deployed, `argus serve` with a proxy section: the decision
 *                 service (registry, governance, Cedar, memo), the SQLite secret store and the
 *                 audit trail into SQLite (argus-serve.ts);
 *   serve-noaudit — the same with the audit trail off;
 *   direct-records / serve-obligations — a tool-call answer carrying 8 patient records, from the
 *                 upstream directly and through `argus serve` with a permit whose obligations
 *                 redact 4 items (names and a JSON pointer) and cut arrays to 3 (audit on).
 * Measures (1) per-call latency p50/p99 from sequential keep-alive calls timed with hrtime
 * (sub-millisecond, unlike autocannon), (2) time to first byte of a streamed (SSE) completion,
 * (3) throughput at 32 connections with autocannon, (4) peak RSS of each proxy.
 * Proxies run on core 0, the upstream and this load generator on core 1.
 *
 * Run from the repo root: `bash bench/proxy/run.sh` (about 2 minutes).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { cpuSeconds, startTarget, stopTargets } from './harness.ts';

const REPS = Number(process.env.REPS ?? 3);
const LAT_N = Number(process.env.LAT_N ?? 2000);
const TTFB_N = Number(process.env.TTFB_N ?? 100);
const DURATION_S = Number(process.env.DURATION_S ?? 5);
const WARMUP_S = Number(process.env.WARMUP_S ?? 2);
const TOKEN = 'argus_bench_token';
const BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Summarize the quarterly report in one sentence.' }],
});
const RECORDS_BODY = JSON.stringify({ model: 'gpt-records', messages: [{ role: 'user', content: 'File the patient records.' }] });
const STREAM_BODY = JSON.stringify({ model: 'gpt-bench', stream: true, messages: [{ role: 'user', content: 'stream please' }] });

interface Target {
  name: 'direct' | 'floor' | 'argus' | 'serve' | 'serve-noaudit' | 'direct-records' | 'serve-obligations';
  port: number;
  path: string;
  pid?: number;
  /** The body this target is called with, when not the common one (and then left out of the stream pass). */
  body?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One call; resolves with [time to first body byte, total time] in ms. */
function call(t: Target, body: string): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0;
    const req = request(
      {
        host: '127.0.0.1',
        port: t.port,
        path: t.path,
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.on('data', () => {
          if (first === 0) first = Number(process.hrtime.bigint() - t0) / 1e6;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${t.name} answered ${res.statusCode}`));
          else resolve([first, Number(process.hrtime.bigint() - t0) / 1e6]);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const median = (xs: number[]) => pct(xs, 50);

/** Sequential latency, interleaved in rounds of 100 so drift hits every target alike. */
async function latency(targets: Target[], n: number, body: string, pick: 0 | 1): Promise<Map<string, number[]>> {
  const samples = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (let done = 0; done < n; done += 100) {
    for (const t of targets) {
      for (let i = 0; i < Math.min(100, n - done); i++) samples.get(t.name)!.push((await call(t, t.body ?? body))[pick]);
    }
  }
  return samples;
}

async function throughput(t: Target, seconds: number): Promise<{ rps: number; p50: number; p99: number; cpuUsPerReq: number }> {
  const cpu0 = t.pid === undefined ? 0 : cpuSeconds(t.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${t.port}${t.path}`,
    method: 'POST',
    connections: 32,
    duration: seconds,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: t.body ?? BODY,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${t.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const cpuUsPerReq = t.pid === undefined ? 0 : ((cpuSeconds(t.pid) - cpu0) * 1e6) / result.requests.total;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUsPerReq };
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  // taskset execs node, so the pid is node's own.
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

async function main(): Promise<void> {
  const up = await startTarget('upstream.ts', 1);
  const upstreamUrl = `http://127.0.0.1:${up.port}`;
  const floor = await startTarget('floor-proxy.ts', 0, { args: [upstreamUrl] });
  const argus = await startTarget('argus-proxy.ts', 0, { args: [upstreamUrl] });
  const served = await startTarget('argus-serve.ts', 0, { args: [upstreamUrl] });
  const servedNoAudit = await startTarget('argus-serve.ts', 0, { args: [upstreamUrl], env: { BENCH_AUDIT: 'false' } });
  const servedObligations = await startTarget('argus-serve.ts', 0, { args: [upstreamUrl], env: { BENCH_OBLIGATIONS: 'true' } });
  const targets: Target[] = [
    { name: 'direct', port: up.port, path: '/v1/chat/completions' },
    { name: 'floor', port: floor.port, path: '/openai/v1/chat/completions', pid: floor.pid },
    { name: 'argus', port: argus.port, path: '/openai/v1/chat/completions', pid: argus.pid },
    { name: 'serve', port: served.port, path: '/openai/v1/chat/completions', pid: served.pid },
    { name: 'serve-noaudit', port: servedNoAudit.port, path: '/openai/v1/chat/completions', pid: servedNoAudit.pid },
    { name: 'direct-records', port: up.port, path: '/v1/chat/completions', body: RECORDS_BODY },
    {
      name: 'serve-obligations',
      port: servedObligations.port,
      path: '/openai/v1/chat/completions',
      pid: servedObligations.pid,
      body: RECORDS_BODY,
    },
  ];
  const streamed = targets.filter((t) => t.body === undefined);
  process.stderr.write(`warming up\n`);
  await latency(targets, 500, BODY, 1);
  for (const t of targets.slice(1)) await throughput(t, WARMUP_S);

  const lat: Record<string, { p50: number[]; p99: number[] }> = {};
  const ttfb: Record<string, { p50: number[]; p99: number[] }> = {};
  const tput: Record<string, { rps: number[]; p50: number[]; p99: number[]; cpu: number[] }> = {};
  for (const t of targets) {
    lat[t.name] = { p50: [], p99: [] };
    ttfb[t.name] = { p50: [], p99: [] };
    tput[t.name] = { rps: [], p50: [], p99: [], cpu: [] };
  }
  for (let rep = 0; rep < REPS; rep++) {
    process.stderr.write(`rep ${rep + 1}/${REPS}\n`);
    const l = await latency(targets, LAT_N, BODY, 1);
    const s = await latency(streamed, TTFB_N, STREAM_BODY, 0);
    for (const t of targets) {
      lat[t.name]!.p50.push(pct(l.get(t.name)!, 50));
      lat[t.name]!.p99.push(pct(l.get(t.name)!, 99));
      if (!s.has(t.name)) continue;
      ttfb[t.name]!.p50.push(pct(s.get(t.name)!, 50));
      ttfb[t.name]!.p99.push(pct(s.get(t.name)!, 99));
    }
    for (const t of rep % 2 === 0 ? targets : [...targets].reverse()) {
      const r = await throughput(t, DURATION_S);
      tput[t.name]!.rps.push(r.rps);
      tput[t.name]!.p50.push(r.p50);
      tput[t.name]!.p99.push(r.p99);
      tput[t.name]!.cpu.push(r.cpuUsPerReq);
    }
  }
  const f = (x: number, d = 3) => (Number.isNaN(x) ? '—' : x.toFixed(d));
  const m = (name: string, table: Record<string, Record<string, number[]>>, key: string) => median(table[name]![key]!);
  const rows = targets.map((t) => ({
    target: t.name,
    latP50: m(t.name, lat, 'p50'),
    latP99: m(t.name, lat, 'p99'),
    ttfbP50: t.body === undefined ? m(t.name, ttfb, 'p50') : NaN,
    ttfbP99: t.body === undefined ? m(t.name, ttfb, 'p99') : NaN,
    rps: m(t.name, tput, 'rps'),
    acP50: m(t.name, tput, 'p50'),
    acP99: m(t.name, tput, 'p99'),
    cpuUs: m(t.name, tput, 'cpu'),
    rssMb: peakRssMb(t.pid),
  }));
  const by = Object.fromEntries(rows.map((r) => [r.target, r]));
  const out: string[] = [];
  out.push(
    `| target | latency p50 (ms) | latency p99 (ms) | stream TTFB p50 (ms) | stream TTFB p99 (ms) | req/s (32 conn) | autocannon p50 / p99 (ms) | proxy CPU per call (µs) | peak RSS (MB) |`,
  );
  out.push(`|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows)
    out.push(
      `| ${r.target} | ${f(r.latP50)} | ${f(r.latP99)} | ${f(r.ttfbP50)} | ${f(r.ttfbP99)} | ${Math.round(r.rps)} | ${r.acP50} / ${r.acP99} | ${r.cpuUs ? Math.round(r.cpuUs) : '—'} | ${r.rssMb || '—'} |`,
    );
  out.push('');
  for (const name of ['argus', 'serve', 'serve-noaudit'] as const) {
    const a = by[name]!;
    out.push(
      `${name}: added latency p50 over direct ${f(a.latP50 - by.direct!.latP50)} ms, over floor ${f(a.latP50 - by.floor!.latP50)} ms; p99 over direct ${f(a.latP99 - by.direct!.latP99)} ms; stream TTFB p50 over direct ${f(a.ttfbP50 - by.direct!.ttfbP50)} ms; throughput / floor = ${f(a.rps / by.floor!.rps, 2)}; CPU per call / floor = ${f(a.cpuUs / by.floor!.cpuUs, 2)} (+${Math.round(a.cpuUs - by.floor!.cpuUs)} µs)`,
    );
  }
  const o = by['serve-obligations']!;
  const d = by['direct-records']!;
  out.push(
    `serve-obligations: added latency p50 over direct (same records answer) ${f(o.latP50 - d.latP50)} ms, p99 ${f(o.latP99 - d.latP99)} ms; over serve without obligations (a short answer) ${f(o.latP50 - by.serve!.latP50)} ms; CPU per call ${Math.round(o.cpuUs)} µs vs serve ${Math.round(by.serve!.cpuUs)} µs`,
  );
  out.push(
    `reps=${REPS} latency n=${LAT_N}/rep ttfb n=${TTFB_N}/rep throughput ${DURATION_S}s/rep after ${WARMUP_S}s warm-up; raw per-rep medians: ${JSON.stringify({ lat, ttfb, tput })}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    stopTargets();
    agent.destroy();
  });
