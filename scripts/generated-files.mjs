// What the generators of checked-in files share (scripts/gen-openapi.mjs, scripts/gen-config-docs.mjs):
// the JSON Schemas they read, and writing the generated file or, under `--check`, failing when the
// file on disk is stale.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every `*.schema.json` under schemas/, by `$id`, with its path from the repository root. */
export function loadSchemas() {
  const byId = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.schema.json')) {
        const schema = JSON.parse(readFileSync(path, 'utf8'));
        if (typeof schema.$id === 'string') byId.set(schema.$id, { schema, file: relative(ROOT, path) });
      }
    }
  };
  walk(join(ROOT, 'schemas'));
  return byId;
}

/**
 * Writes `text` to `out` (saying so, with `note` after the path); with `--check` on the command
 * line writes nothing and exits 1 when `out` differs from `text` (a missing file counts as stale),
 * naming `script` as the command that regenerates it.
 */
export function writeOrCheck(out, text, script, note = '') {
  const name = relative(ROOT, out);
  if (!process.argv.includes('--check')) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    process.stdout.write(`wrote ${name}${note}\n`);
    return;
  }
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write(`${name} is stale: run \`node ${script}\`\n`);
    process.exit(1);
  }
  process.stdout.write(`${name} is up to date\n`);
}
