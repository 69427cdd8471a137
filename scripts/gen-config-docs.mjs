#!/usr/bin/env node
// Generates docs/configuration.md from the configuration JSON Schemas (schemas/config/*.json and
// schemas/registry/config.schema.json) and the environment overrides each app honours, so the
// reference cannot drift from what the apps validate.
//
//   node scripts/gen-config-docs.mjs           writes docs/configuration.md
//   node scripts/gen-config-docs.mjs --check   exits 1 when the file on disk is stale
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSchemas, ROOT, writeOrCheck } from './generated-files.mjs';

const OUT = join(ROOT, 'docs', 'configuration.md');

/**
 * Environment overrides of each file (JSON Pointer → variable names), from the files' definitions:
 * each component's section declares its own, and a file's table is the union of its sections'.
 */
async function envOverrides() {
  const { tsImport } = await import('tsx/esm/api');
  const load = async (path, name) => (await tsImport(join(ROOT, path), import.meta.url))[name].env;
  const [argus, proxy, registry, discover] = await Promise.all([
    load('libs/apdp/src/config.ts', 'ARGUS_CONFIG_FILE'),
    load('libs/proxy/src/config.ts', 'PROXY_CONFIG_FILE'),
    load('libs/registry/src/config.ts', 'REGISTRY_CONFIG_FILE'),
    load('libs/discover/src/config.ts', 'DISCOVER_CONFIG_FILE'),
  ]);
  const byPointer = (table) => {
    const map = new Map();
    for (const [name, { pointer }] of Object.entries(table)) map.set(pointer, [...(map.get(pointer) ?? []), name]);
    return map;
  };
  return { argus: byPointer(argus), proxy: byPointer(proxy), registry: byPointer(registry), discover: byPointer(discover) };
}

function resolveRef(ref, rootId, byId) {
  const [id, fragment = ''] = ref.startsWith('#') ? [rootId, ref.slice(1)] : ref.split('#');
  const entry = byId.get(id);
  if (!entry) throw new Error(`unresolvable $ref \`${ref}\``);
  let node = entry.schema;
  for (const part of fragment.split('/').filter(Boolean)) node = node[part];
  return { schema: node, rootId: id };
}

function typeOf(s) {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((e) => `\`${e}\``).join(' \\| ');
  if (s.oneOf) return s.oneOf.map(typeOf).join(' \\| ');
  let t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? (s.properties ? 'object' : 'any'));
  if (t === 'array' && s.items) t = `array of ${typeOf(s.items)}`;
  const bounds = [];
  if (s.minimum !== undefined || s.maximum !== undefined) bounds.push(`${s.minimum ?? '…'}–${s.maximum ?? '…'}`);
  if (s.minLength !== undefined) bounds.push(`min length ${s.minLength}`);
  if (s.minItems !== undefined || s.maxItems !== undefined) bounds.push(`${s.minItems ?? 0}–${s.maxItems ?? '…'} items`);
  if (s.pattern) bounds.push(`pattern \`${s.pattern.replaceAll('|', '\\|')}\``);
  if (s.format) bounds.push(`format ${s.format}`);
  return bounds.length ? `${t} (${bounds.join(', ')})` : t;
}

const SECRET = /(token|tokens|secret|password|passphrase|privatekey|apikey|credential|hashsalt)$/i;

/** Rows for every key below `schema`, depth first, in schema order. */
function rows(schema, rootId, byId, path, env, out, note = '') {
  let s = schema;
  let root = rootId;
  const own = { description: s.description, default: s.default };
  while (s.$ref) {
    const r = resolveRef(s.$ref, root, byId);
    s = r.schema;
    root = r.rootId;
  }
  if (path.length > 0) {
    const key = path.join('.');
    const pointer = `/${path.join('/').replaceAll('[]', '').replaceAll('.', '/')}`;
    const def = own.default ?? s.default;
    const description = [note, own.description ?? s.description ?? s.title ?? ''].filter(Boolean).join(' ');
    out.push({
      key,
      type: typeOf(s),
      default: def === undefined ? '' : `\`${JSON.stringify(def)}\``,
      env: (env.get(pointer) ?? []).map((e) => `\`${e}\``).join(', '),
      description: `${description}${SECRET.test(path[path.length - 1] ?? '') ? ' **Secret:** never printed (`argus config check` redacts it).' : ''}`,
    });
  }
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    if (name === '$schema') continue;
    rows(child, root, byId, [...path, name], env, out);
  }
  if (
    s.additionalProperties &&
    typeof s.additionalProperties === 'object' &&
    (s.additionalProperties.properties || s.additionalProperties.$ref)
  ) {
    rows(s.additionalProperties, root, byId, [...path, '<name>'], env, out);
  }
  let items = s.items;
  if (items) {
    let itemRoot = root;
    while (items.$ref) {
      const r = resolveRef(items.$ref, itemRoot, byId);
      items = r.schema;
      itemRoot = r.rootId;
    }
    const last = path.length ? [...path.slice(0, -1), `${path[path.length - 1]}[]`] : ['[]'];
    for (const [name, child] of Object.entries(items.properties ?? {})) rows(child, itemRoot, byId, [...last, name], env, out);
    for (const branch of items.allOf ?? []) {
      const when = branch.if?.properties
        ? Object.entries(branch.if.properties)
            .map(([k, v]) => `\`${k}\` = \`${v.const}\``)
            .join(', ')
        : '';
      for (const [name, child] of Object.entries(branch.then?.properties ?? {})) {
        if (child.const !== undefined) continue;
        rows(child, itemRoot, byId, [...last, name], env, out, when ? `(when ${when})` : '');
      }
    }
  }
}

function table(list) {
  const esc = (v) => String(v).replaceAll('\n', ' ');
  return [
    '| Key | Type | Default | Env override | Description |',
    '| --- | --- | --- | --- | --- |',
    ...list.map((r) => `| \`${r.key}\` | ${esc(r.type)} | ${esc(r.default)} | ${r.env} | ${esc(r.description)} |`),
  ].join('\n');
}

/** The whole Markdown document (reads the schemas and the files' definitions). */
export async function buildConfigDocs() {
  const byId = loadSchemas();
  const env = await envOverrides();
  const main = byId.get('https://argus.dev/schemas/config/argus.json');
  const parts = [
    '# Configuration reference',
    '',
    '<!-- GENERATED by scripts/gen-config-docs.mjs from the JSON Schemas in schemas/config/ and schemas/registry/config.schema.json. Do not edit by hand: run `node scripts/gen-config-docs.mjs`. -->',
    '',
    'Every Argus app reads one JSON or YAML file validated at start-up, section by section: each section (one JSON Schema in `schemas/config/`) is defined beside the code that reads it, with its defaults and its environment overrides. Precedence, key by key: defaults < the file < environment variables < command-line flags (`argus serve -p`, `-H`, `--policies`, `--store`). An empty variable overrides nothing; one that cannot be read (`ARGUS_PORT=80x`) is an error naming the variable and the key. Every limit has a default; a bad configuration stops the app with a non-zero exit (`argus serve`: 2) naming every offending path — unknown keys and wrong types included — and never echoing a value. `argus config check <file>` validates a file and prints the resolved values with secrets redacted.',
    '',
    '| App | File | Schema | Env overrides |',
    '| --- | --- | --- | --- |',
    '| `argus serve`, `apps/apdp` | `ARGUS_CONFIG` or the first argument | [`schemas/config/argus.schema.json`](../schemas/config/argus.schema.json) | [below](#argus-configuration-file) |',
    '| `apps/proxy` (standalone) | `ARGUS_PROXY_CONFIG` or the first argument | the `proxy` section ([`schemas/config/proxy.schema.json`](../schemas/config/proxy.schema.json)) as the whole file | [below](#proxy) |',
    '| `apps/registry` (standalone) | environment only | [`schemas/registry/config.schema.json`](../schemas/registry/config.schema.json) | [below](#standalone-registry) |',
    '| `apps/discover` | `ARGUS_DISCOVER_CONFIG` or the first argument | the `discover` section ([`schemas/config/discover.schema.json`](../schemas/config/discover.schema.json)) as the whole file | [below](#discover) |',
    '',
    'Keys are written as dotted paths; `[]` marks the items of an array and `<name>` a key you choose. Durations are in milliseconds (`…Ms`), sizes in bytes (`…Bytes`).',
    '',
    '## Argus configuration file',
    '',
    `${main.schema.description ?? ''}`,
    '',
    `Environment overrides (\`ARGUS_CONFIG_FILE.env\` in \`libs/apdp/src/config.ts\`, the union of the sections' own): ${[...env.argus.entries()].map(([p, names]) => `${names.map((n) => `\`${n}\``).join(', ')} → \`${p}\``).join('; ')}.`,
    '',
  ];
  for (const [name, child] of Object.entries(main.schema.properties)) {
    if (name === '$schema') continue;
    let section = child;
    let rootId = main.schema.$id;
    while (section.$ref) {
      const r = resolveRef(section.$ref, rootId, byId);
      section = r.schema;
      rootId = r.rootId;
    }
    const list = [];
    const sectionEnv =
      name === 'proxy' ? prefixed(env.proxy, '/proxy') : name === 'discover' ? prefixed(env.discover, '/discover') : env.argus;
    rows(child, main.schema.$id, byId, [name], sectionEnv, list);
    parts.push(`### ${name}`, '', [...new Set([child.description, section.description ?? section.title].filter(Boolean))].join(' '), '');
    if (name === 'proxy')
      parts.push(
        'The standalone proxy reads this section as its whole file (keys without the `proxy.` prefix); the environment overrides below apply there. In `argus serve` the section comes from the file only.',
        '',
      );
    if (name === 'discover')
      parts.push(
        '`apps/discover` reads this section as its whole file (keys without the `discover.` prefix); the environment overrides below apply there. `ARGUS_DISCOVER_ROLES=scheduler|worker|scheduler,worker` picks the roles of a process.',
        '',
      );
    parts.push(table(list), '');
  }
  const registry = byId.get('https://argus.dev/schemas/registry/config.json');
  const list = [];
  rows(registry.schema, registry.schema.$id, byId, [], env.registry, list);
  parts.push(
    '## Standalone registry',
    '',
    `${registry.schema.title}. It reads no file: every value comes from the environment or the default. Token maps (\`ARGUS_SCANNER_TOKENS\`, \`ARGUS_AGENT_TOKENS\`, \`ARGUS_SERVICE_TOKENS\`) are \`id=token,id2=token2\` or a JSON object.`,
    '',
    table(list),
    '',
  );
  parts.push(
    '## Proxy',
    '',
    'See the [`proxy`](#proxy-1) section above; the standalone proxy reads it as its whole file.',
    '',
    '## Discover',
    '',
    'See the [`discover`](#discover-1) section above; `apps/discover` reads it as its whole file.',
    '',
  );
  return `${parts
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function prefixed(map, prefix) {
  return new Map([...map.entries()].map(([k, v]) => [`${prefix}${k}`, v]));
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) writeOrCheck(OUT, await buildConfigDocs(), 'scripts/gen-config-docs.mjs');
