// Summarises V8's `--trace-gc-nvp` lines of the decision thread (the process's main isolate) over
// the last SECONDS of a log: how often the young generation was collected, what each collection
// promoted to the old generation, and the time the thread spent paused in collections.
// Usage: NODE_FLAGS=--trace-gc-nvp PROFILE=0 WARMUP=12 bash bench/http/profile.sh true
//        node bench/http/gc-summary.mjs /tmp/argus-bench-http/profile-audit-true/argus.log [SECONDS=8]
import { readFileSync } from 'node:fs';

const [file, secondsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/http/gc-summary.mjs <log with --trace-gc-nvp lines> [seconds]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 8);
const events = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const head = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: /.exec(line);
  if (!head || !line.includes(' gc=')) continue;
  const fields = Object.fromEntries(
    line
      .slice(head[0].length)
      .split(' ')
      .filter((f) => f.includes('='))
      .map((f) => f.split('=')),
  );
  events.push({
    isolate: head[1],
    ms: Number(head[2]),
    kind: fields.gc,
    pause: Number(fields.pause),
    promoted: Number(fields.promoted ?? 0),
  });
}
if (events.length === 0) {
  console.error('no --trace-gc-nvp lines in', file);
  process.exit(1);
}
// The main isolate is the first one to log (the audit thread's starts later).
const main = events[0].isolate;
const mine = events.filter((e) => e.isolate === main);
const end = mine.at(-1).ms;
const window = mine.filter((e) => e.ms > end - seconds * 1000);
const scavenges = window.filter((e) => e.kind === 's');
const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);
const pauses = scavenges.map((e) => e.pause).sort((a, b) => a - b);
console.log(
  [
    `decision thread, last ${seconds} s`,
    `${scavenges.length} scavenges`,
    `promoted ${(sum(scavenges, (e) => e.promoted) / 1024 / Math.max(1, scavenges.length)).toFixed(0)} KiB per scavenge`,
    `median pause ${(pauses[Math.floor(pauses.length / 2)] ?? 0).toFixed(2)} ms`,
    `paused ${(sum(window, (e) => e.pause) / seconds).toFixed(1)} ms/s in all collections (${window.length - scavenges.length} not scavenges)`,
  ].join(' · '),
);
