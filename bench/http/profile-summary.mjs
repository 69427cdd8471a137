// Self time of each .cpuprofile in a directory by area: a workspace source by its lib and file
// (libs/decision/src/entities.ts -> decision/entities.ts), a package by its name, node by what it
// does. Frames of the built bundle (dist/) are mapped back to their sources through the bundle's
// source maps, so the built server is profiled as it runs in production.
// Usage: node bench/http/profile-summary.mjs DIR [TOP] [REQUESTS] [FILTER]
//   REQUESTS: divide by it (µs per request); FILTER: a pattern — also list the functions whose area matches it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';

const [dir, top = '24', requests = '0', filter] = process.argv.slice(2);
const maps = new Map();
function traceMap(url) {
  if (!maps.has(url)) {
    let map;
    try {
      const file = url.startsWith('file:') ? fileURLToPath(url) : url;
      if (/\/dist\//.test(file) && existsSync(`${file}.map`)) map = new TraceMap(readFileSync(`${file}.map`, 'utf8'), url);
    } catch {
      map = undefined;
    }
    maps.set(url, map);
  }
  return maps.get(url);
}

/** The source a frame runs: the bundle's frames mapped back through its source map. */
function source(frame) {
  const map = frame.url ? traceMap(frame.url) : undefined;
  if (!map || frame.lineNumber < 0) return { url: frame.url, name: frame.functionName };
  const pos = originalPositionFor(map, { line: frame.lineNumber + 1, column: Math.max(0, frame.columnNumber) });
  return pos.source ? { url: pos.source, name: frame.functionName, line: pos.line } : { url: frame.url, name: frame.functionName };
}

function area({ url: u = '', name: n = '' }) {
  if (n === '(garbage collector)') return 'gc';
  if (n === '(idle)' || n === '(program)' || n === '(root)') return n;
  if (/node_modules\/(tsx|esbuild|get-tsconfig)/.test(u)) return 'start-up (tsx compiling the sources)';
  if (/cedar-wasm|wasm:/.test(u) || /^wasm-function|^\$/.test(n)) return 'cedar-wasm';
  const ws = /(?:^|\/)(?:libs|apps)\/([^/]+)\/src\/(.+?)(?:\?.*)?$/.exec(u);
  if (ws) return `${ws[1]}/${ws[2]}`;
  if (/better-sqlite3/.test(u)) return 'better-sqlite3';
  if (/node:_http|node:http|node:net|node:stream|node:internal\/(streams|http|net)/.test(u)) return 'node http/net';
  if (/node:internal\/worker|node:worker|messageport|MessagePort/.test(u + n)) return 'thread hand-over';
  if (/^node:internal\/crypto|^node:crypto/.test(u)) return 'node crypto';
  if (/^node:internal\/(timers|process\/task_queues)|^node:timers/.test(u)) return 'node timers, microtasks';
  if (/^node:/.test(u)) return 'node other';
  if (u === '') return `native (${n.slice(0, 30)})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  return m ? m[1] : 'other js';
}

const perRequest = (us) => (+requests > 0 ? `  ${(us / +requests).toFixed(1).padStart(6)} µs/req` : '');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'));
  const frames = new Map(p.nodes.map((n) => [n.id, source(n.callFrame)]));
  const byArea = new Map();
  const byFunction = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const d = p.timeDeltas[i] || 0;
    const f = frames.get(id);
    const a = area(f);
    byArea.set(a, (byArea.get(a) || 0) + d);
    if (filter && new RegExp(filter).test(a)) {
      const k = `${a} ${f.name || '(anonymous)'}${f.line ? `:${f.line}` : ''}`;
      byFunction.set(k, (byFunction.get(k) || 0) + d);
    }
    total += d;
  });
  const busy = total - (byArea.get('(idle)') || 0);
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy${perRequest(busy)}`);
  const rows = (m) =>
    [...m]
      .filter(([a]) => a !== '(idle)')
      .sort((x, y) => y[1] - x[1])
      .slice(0, +top);
  for (const [a, us] of rows(byArea))
    console.log(`  ${a.padEnd(48)} ${(us / 1e6).toFixed(2)} s  ${((100 * us) / busy).toFixed(1).padStart(5)} %${perRequest(us)}`);
  if (filter) {
    console.log(`  -- functions of the areas matching /${filter}/`);
    for (const [k, us] of rows(byFunction)) console.log(`  ${k.slice(0, 70).padEnd(70)} ${perRequest(us) || `${(us / 1e6).toFixed(2)} s`}`);
  }
}
