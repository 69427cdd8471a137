/**
 * Where the proxy's CPU goes: runs one proxy target (`argus`, `floor` or `serve`) under
 * `node --cpu-prof` on core 0, drives it with autocannon (32 connections) from core 1, then prints
 * the CPU per call (from /proc) and the functions with the most self time, grouped by source.
 *
 * Run from the repo root: `taskset -c 1 node --import tsx bench/proxy/profile.ts [argus|floor|serve] [seconds]`.
 * The profile is left in a temporary directory (its path is printed) for a closer look.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const which = process.argv[2] ?? 'argus';
const seconds = Number(process.argv[3] ?? 10);
const FILES: Record<string, string> = { argus: 'argus-proxy.ts', floor: 'floor-proxy.ts', serve: 'argus-serve.ts' };
const BODY = JSON.stringify({
  model: 'gpt-bench',
  messages: [{ role: 'user', content: 'Summarize the quarterly report in one sentence.' }],
});
const children: ChildProcess[] = [];

function start(file: string, core: number, args: string[], nodeArgs: string[] = []): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...nodeArgs, '--import', 'tsx', join(here, file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(here, '../..'),
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), child });
    });
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'argus-proxy-profile-'));
const up = await start('upstream.ts', 1, []);
// The profile is written on a normal exit: SIGTERM must exit (argus-proxy.ts does; the others get a handler).
const exitOnTerm = `--import=data:text/javascript,process.on('SIGTERM',()=>process.exit(0))`;
const proxy = await start(FILES[which]!, 0, [`http://127.0.0.1:${up.port}`], ['--cpu-prof', `--cpu-prof-dir=${dir}`, exitOnTerm]);
const run = (duration: number) =>
  autocannon({
    url: `http://127.0.0.1:${proxy.port}/openai/v1/chat/completions`,
    method: 'POST',
    connections: 32,
    duration,
    headers: { authorization: 'Bearer argus_bench_token', 'content-type': 'application/json' },
    body: BODY,
  });
await run(2);
const cpu0 = cpuSeconds(proxy.child.pid!);
const result = await run(seconds);
const cpuUs = ((cpuSeconds(proxy.child.pid!) - cpu0) * 1e6) / result.requests.total;
process.stdout.write(`${which}: ${Math.round(result.requests.average)} req/s, ${Math.round(cpuUs)} µs CPU per call (profiler on)\n`);
await new Promise<void>((resolve) => {
  proxy.child.once('exit', () => resolve());
  proxy.child.kill('SIGTERM');
});
for (const c of children) c.kill('SIGTERM');

// One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
if (!file) throw new Error(`no profile in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[] };
const total = profile.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0);
const byFunction = new Map<string, number>();
const bySource = new Map<string, number>();
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0;
  const url = n.callFrame.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'node_modules/')
    .replace(/.*\/(libs|apps|bench)\//, '$1/');
  const source = url === '' ? '(native/vm)' : url.startsWith('node:') ? 'node core' : url.split('/').slice(0, 3).join('/');
  const key = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  bySource.set(source, (bySource.get(source) ?? 0) + hits);
}
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
process.stdout.write(
  `\nself time by source\n${top(bySource, 25)}\n\nself time by function\n${top(byFunction, 45)}\n\nprofile: ${join(dir, file)}\n`,
);
