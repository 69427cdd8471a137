import { setFlagsFromString } from 'node:v8';

/**
 * Node 20's V8 can abort the process ("unreachable code" in the deoptimizer) when it inlines
 * JS→WebAssembly calls into optimised code and later deoptimises them; cedar-wasm under load hits
 * this (seen in the proxy: 4 aborts in 7 twenty-second runs; none in 8 with inlining off, and
 * throughput went up). `cedar-wasm.ts`, through which every engine module calls cedar-wasm, imports
 * this one first, so every process that evaluates policies runs with the inlining off.
 */
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
