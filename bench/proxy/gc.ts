/**
 * The young-generation garbage collection a proxy target causes per call: runs each target under
 * `--trace-gc-nvp` on core 0, drives it with autocannon (32 connections) from core 1 and sums
 * the scavenges of the measured run: their pause, the bytes allocated, and the bytes that
 * survived and were promoted to the old generation, per call. A proxy that keeps nothing past its
 * calls promotes next to nothing (the floor: ~0.01 KB a call); kilobytes promoted per call mean
 * calls are kept alive past their end, and every scavenge then copies them (see
 * `libs/proxy/src/context.ts`, `callStates` and `InFlightCalls`). These figures hold on a busy
 * machine, where the CPU per call does not.
 *
 * Run from the repo root: `taskset -c 1 node --import tsx bench/proxy/gc.ts [target ...]`, a target
 * being `floor`, `argus` or `serve`, optionally with environment settings for it after colons
 * (`argus:BENCH_WASM_DECISION=1`); `SECONDS` (default 5) sets the measured run's length.
 */
import { loadProxy, startTarget, stopTargets } from './harness.ts';

const FILES: Record<string, string> = { argus: 'argus-proxy.ts', floor: 'floor-proxy.ts', serve: 'argus-serve.ts' };
const seconds = Number(process.env.SECONDS ?? 5);
try {
  const up = await startTarget('upstream.ts', 1);
  const specs = process.argv.slice(2);
  for (const spec of specs.length > 0 ? specs : ['floor', 'argus']) {
    const [which, ...settings] = spec.split(':');
    const file = FILES[which!];
    if (!file) throw new Error(`unknown target \`${which}\` (floor, argus or serve)`);
    const env = Object.fromEntries(settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const target = await startTarget(file, 0, { args: [`http://127.0.0.1:${up.port}`], nodeArgs: ['--trace-gc-nvp'], env });
    const run = (duration: number) => loadProxy(target.port, duration);
    await run(2);
    const from = target.out().length;
    const result = await run(seconds);
    const scavenges = target
      .out()
      .slice(from)
      .split('\n')
      .filter((l) => l.includes(' gc=s '));
    const sum = (field: string) => {
      const re = new RegExp(` ${field}=([\\d.]+)`);
      return scavenges.reduce((acc, l) => acc + Number(re.exec(l)?.[1] ?? 0), 0);
    };
    const calls = result.requests.total;
    process.stdout.write(
      `${spec}: ${calls} calls, ${scavenges.length} scavenges, per call: pause ${((sum('pause') * 1000) / calls).toFixed(1)} µs, ` +
        `allocated ${(sum('allocated') / calls / 1024).toFixed(1)} KB, survived ${(sum('new_space_survived') / calls / 1024).toFixed(2)} KB, ` +
        `promoted ${(sum('promoted') / calls / 1024).toFixed(2)} KB\n`,
    );
    target.child.kill('SIGTERM');
  }
} finally {
  stopTargets();
}
