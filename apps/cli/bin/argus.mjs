#!/usr/bin/env node
// The `argus` command. Runs the built JavaScript in dist/cli/ (scripts/build.mjs; `npm ci` builds
// it through the `prepare` script), so no TypeScript is compiled at run time.
//
// In a checkout being edited the build can be older than its sources: it is rebuilt first (about a
// second, once). When it cannot be rebuilt (esbuild not installed, a source that does not compile)
// the sources run through tsx when tsx is installed, else the existing build runs with a warning.
// ARGUS_FROM_SOURCE=1 always runs the sources through tsx.
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);
const dist = new URL('dist/cli/', root);
const entry = new URL('argus.mjs', dist);

/** Whether dist/cli was built from the sources as they are now (size and mtime of every input). */
function fresh() {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(new URL('build-inputs.json', dist), 'utf8')).inputs;
  } catch {
    return false;
  }
  for (const [file, { size, mtimeMs }] of Object.entries(recorded)) {
    let st;
    try {
      st = statSync(new URL(file, root));
    } catch {
      return false;
    }
    if (st.size !== size || st.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

async function rebuild() {
  const script = new URL('scripts/build.mjs', root);
  if (!existsSync(script)) return 'scripts/build.mjs is not there';
  try {
    const { build } = await import(script.href);
    await build(['cli']);
    return undefined;
  } catch (err) {
    const first = err?.errors?.[0];
    return first?.location ? `${first.location.file}:${first.location.line}: ${first.text}` : (err?.message ?? String(err));
  }
}

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/main.ts');
}

async function load() {
  if (process.env.ARGUS_FROM_SOURCE === '1') return fromSource();
  if (fresh()) return import(entry.href);
  const why = await rebuild();
  if (why === undefined) return import(entry.href);
  try {
    return await fromSource();
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(entry)) throw err;
    process.stderr.write(`argus: running a build older than the sources (cannot rebuild: ${why})\n`);
    return import(entry.href);
  }
}

const { main } = await load();
await main(process.argv);
