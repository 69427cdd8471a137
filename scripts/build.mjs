#!/usr/bin/env node
/**
 * Builds the JavaScript the `argus` command and the apps run (no TypeScript compiler at run time):
 * esbuild bundles each entry point with the workspace sources (`@argus/*`) inlined and every
 * package from node_modules left as an import, into `dist/<name>/`.
 *
 *   dist/cli/argus.mjs      the `argus` command (code-split: a command's code loads when it runs)
 *   dist/apdp/main.mjs      the decision point            (docker/apdp.Dockerfile)
 *   dist/proxy/main.mjs     the enforcement proxy         (docker/proxy.Dockerfile)
 *   dist/registry/main.mjs  the registry                  (docker/registry.Dockerfile)
 *   dist/discover/main.mjs  the discovery service         (docker/discover.Dockerfile)
 *
 * Conventions the sources follow so that they run the same from source and built:
 * - `import.meta.url`/`dirname`/`filename` in a workspace source mean that source's own location
 *   (schemas, heuristics, console assets and `cedar/` are read where they are in the checkout); the
 *   build writes them relative to the bundle, so the checkout can move. The entry file keeps its
 *   own `import.meta.url` (its "am I the main module?" check compares it with `argv[1]`).
 * - A worker thread's entry named `new URL('./name.js', import.meta.url)` beside a `name.ts`
 *   source is built as `dist/<target>/name.js`, and that module keeps the bundle's location.
 *
 * Each output directory holds `build-inputs.json` (the sources, their size and mtime), which
 * `apps/cli/bin/argus.mjs` compares with the checkout to rebuild a stale build. A build goes to a
 * temporary directory first and replaces the old one by rename, so a concurrent run never sees a
 * half-written build.
 *
 * Usage: node scripts/build.mjs [--if-available] [target...]   (`npm run build`; `npm ci` runs it
 * through `prepare`). `--if-available` is for `prepare`: it skips when esbuild is not installed (a
 * production install with `--omit=dev`, where the built files are copied in instead), and a build
 * that fails only warns — `apps/cli/bin/argus.mjs` then runs the sources through tsx until it
 * builds — so an install never fails on it.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What gets built: target name → entry source and output name; the CLI is code-split. */
export const TARGETS = {
  cli: { entry: 'apps/cli/src/main.ts', out: 'argus', splitting: true },
  apdp: { entry: 'apps/apdp/src/main.ts', out: 'main', splitting: false },
  proxy: { entry: 'apps/proxy/src/main.ts', out: 'main', splitting: false },
  registry: { entry: 'apps/registry/src/main.ts', out: 'main', splitting: false },
  discover: { entry: 'apps/discover/src/main.ts', out: 'main', splitting: false },
};

/** The file recording what a build was made from. */
export const INPUTS_FILE = 'build-inputs.json';

const WORKER_URL = /new URL\(\s*['"]\.\/([\w-]+)\.js['"]\s*,\s*import\.meta\.url\s*\)/g;

/** The `name.js` worker entries a source names, with their `name.ts` sources. */
function workerEntries(file, text) {
  const found = [];
  for (const m of text.matchAll(WORKER_URL)) {
    const source = join(dirname(file), `${m[1]}.ts`);
    if (existsSync(source)) found.push({ name: m[1], source });
  }
  return found;
}

/** Rewrites `import.meta` in workspace sources to the source's own location (see above). */
function sourceLocationPlugin(outdir, keep, workers) {
  return {
    name: 'argus-source-location',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta') || keep.has(args.path)) return { contents: text, loader: 'ts' };
        const named = workerEntries(args.path, text);
        if (named.length > 0) {
          for (const w of named) workers.set(w.name, w.source);
          return { contents: text, loader: 'ts' };
        }
        // Relative to the build's final directory (dist/<target>/), which has the same depth as the temporary one.
        const rel = relative(outdir, args.path).split('\\').join('/');
        const url = `new URL(${JSON.stringify(rel)}, import.meta.url)`;
        const contents = text
          .replaceAll('import.meta.url', `(${url}.href)`)
          .replaceAll('import.meta.dirname', `(decodeURIComponent(new URL(".", ${url}).pathname).replace(/\\/$/, ""))`)
          .replaceAll('import.meta.filename', `(decodeURIComponent(${url}.pathname))`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

/** Every bare import except the workspace's own packages stays an import of node_modules. */
const externalPackages = {
  name: 'argus-external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@argus/') ? undefined : { path: args.path, external: true }));
  },
};

function options(esbuildOutdir, extra) {
  return {
    absWorkingDir: ROOT,
    outdir: esbuildOutdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    ...extra,
  };
}

/** Builds one target into a temporary directory, then swaps it in. Resolves with the number of sources. */
async function buildTarget(esbuild, name) {
  const target = TARGETS[name];
  if (!target) throw new Error(`unknown build target \`${name}\` (known: ${Object.keys(TARGETS).join(', ')})`);
  const finalDir = join(ROOT, 'dist', name);
  const tmpDir = join(ROOT, 'dist', `.${name}-${process.pid}-${Date.now()}`);
  const entry = join(ROOT, target.entry);
  const workers = new Map();
  try {
    const main = await esbuild.build(
      options(tmpDir, {
        entryPoints: { [target.out]: entry },
        splitting: target.splitting,
        outExtension: { '.js': '.mjs' },
        chunkNames: 'chunk-[hash]',
        plugins: [externalPackages, sourceLocationPlugin(finalDir, new Set([entry]), workers)],
      }),
    );
    const metafiles = [main.metafile];
    for (const [workerName, source] of workers) {
      const built = await esbuild.build(
        options(tmpDir, {
          entryPoints: { [workerName]: source },
          plugins: [externalPackages, sourceLocationPlugin(finalDir, new Set([source]), new Map())],
        }),
      );
      metafiles.push(built.metafile);
    }
    const inputs = {};
    for (const metafile of metafiles) {
      for (const file of Object.keys(metafile.inputs)) {
        const abs = resolve(ROOT, file);
        const st = statSync(abs);
        inputs[relative(ROOT, abs)] = { size: st.size, mtimeMs: st.mtimeMs };
      }
    }
    writeFileSync(join(tmpDir, INPUTS_FILE), `${JSON.stringify({ entry: target.entry, inputs })}\n`);
    const oldDir = `${tmpDir}.old`;
    if (existsSync(finalDir)) renameSync(finalDir, oldDir);
    renameSync(tmpDir, finalDir);
    rmSync(oldDir, { recursive: true, force: true });
    return Object.keys(inputs).length;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Builds the named targets (all by default). Throws when esbuild is missing or a source does not compile. */
export async function build(names = Object.keys(TARGETS), { log = () => {} } = {}) {
  const esbuild = await import('esbuild');
  for (const name of names) {
    const t0 = Date.now();
    const n = await buildTarget(esbuild, name);
    log(`built dist/${name}/ from ${n} sources in ${Date.now() - t0} ms`);
  }
}

/** Whether esbuild can be loaded from here. */
export async function esbuildAvailable() {
  try {
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const ifAvailable = args.includes('--if-available');
  const names = args.filter((a) => !a.startsWith('--'));
  if (ifAvailable && !(await esbuildAvailable())) {
    process.stderr.write('argus build: esbuild is not installed (production install): nothing built\n');
    process.exit(0);
  }
  try {
    await build(names.length > 0 ? names : undefined, { log: (line) => process.stderr.write(`${line}\n`) });
  } catch (err) {
    const errors = err?.errors ?? [];
    const where = errors
      .map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : ''}${e.text}`)
      .join('\n');
    process.stderr.write(`argus build: ${errors.length > 0 ? `the sources do not compile\n${where}` : (err?.message ?? String(err))}\n`);
    if (ifAvailable) process.stderr.write('argus build: not built; `argus` runs the sources through tsx until `npm run build` succeeds\n');
    process.exit(ifAvailable ? 0 : 1);
  }
}
