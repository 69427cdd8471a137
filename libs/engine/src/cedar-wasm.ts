import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';
import './wasm-guard.ts';

/**
 * V8 tiers a hot WebAssembly function up from its baseline (Liftoff) code to optimised (TurboFan)
 * code once it has run about this many bytes of code (V8's default is 1,800,000). Loading a policy
 * set runs cedar-wasm's schema parser, policy parser and validator just long enough to cross the
 * default: V8 then optimised hundreds of those large functions once, on every start, for ~0.8 s of
 * CPU and ~60 MB of resident memory (compiled code and the compiler's memory, which the process
 * keeps) — for code that runs again only when the set is reloaded. At 400,000,000 loading the
 * starter set optimises almost nothing, while a function on a decision path still crosses it within
 * seconds of steady traffic and is optimised as before (see `docs/benchmarks.md`, start-up).
 */
const WASM_TIERING_BUDGET = 400_000_000;

/**
 * The budget is read when the wasm module is instantiated, so it is set before cedar-wasm is
 * loaded: through `require` here rather than a static `import`, which a bundler hoists above this
 * module's own code. It applies to every wasm module the process instantiates afterwards (cedar-wasm
 * is the only one Argus loads).
 */
function loadCedarWasm(): typeof CedarWasm {
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
  return createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as typeof CedarWasm;
}

/** cedar-wasm (its Node.js build): every engine module calls it through this binding. */
export const cedar: typeof CedarWasm = loadCedarWasm();
