/**
 * Drift check between the wire types of `types.ts` (written by hand, with their doc comments) and
 * the JSON Schemas in `schemas/` that validate the same documents at runtime. The schemas are
 * compiled to TypeScript with json-schema-to-typescript, then the TypeScript compiler checks each
 * hand-written type is *identical* to its generated twin (not merely assignable: a missing optional
 * field or a wider union is a difference too). A schema change without the matching type change,
 * or the reverse, fails here and names the type.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EQUALS_TYPE, schemaToTypeScript, typeCheckInMemory } from './testing/type-drift.ts';
import { SCHEMAS_DIR } from './validator.ts';

const TYPES = resolve(import.meta.dirname, 'types.ts');

/** Hand-written type → the generated type it must equal (module `request` or `batch`). */
const PAIRS: Array<[hand: string, generated: string]> = [
  ['EntityRef', 'request.EntityRef'],
  ['EntityInput', 'request.EntityInput'],
  ['EntityData', 'request.EntityData'],
  ['AuthorizeInput', 'request.AuthorizeInput'],
  ['AuthorizeRequest', 'request.AuthorizeRequest'],
  ['ExplainLevel', 'request.ExplainLevel'],
  ['BatchAuthorizeRequest', 'batch.BatchAuthorizeRequest'],
];

/** Names for the generated declarations: the ones `types.ts` uses. */
const NAMES: Record<string, string> = {
  'https://argus.dev/schemas/entity-ref.json': 'EntityRef',
  'https://argus.dev/schemas/authorize-request.json': 'AuthorizeRequest',
  'https://argus.dev/schemas/authorize-batch-request.json': 'BatchAuthorizeRequest',
  // json-schema-to-typescript names a `$defs` entry by its key, capitalised.
  Input: 'AuthorizeInput',
  Explain: 'ExplainLevel',
};

function schemasById(): Map<string, Record<string, unknown>> {
  const byId = new Map<string, Record<string, unknown>>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.schema.json')) {
        const schema = JSON.parse(readFileSync(full, 'utf8')) as Record<string, unknown>;
        byId.set(schema.$id as string, schema);
      }
    }
  };
  walk(SCHEMAS_DIR);
  return byId;
}

function generate(byId: Map<string, Record<string, unknown>>, id: string): Promise<string> {
  return schemaToTypeScript(byId.get(id)!, NAMES[id]!, (ref) => byId.get(ref), {
    customName: (schema, key) =>
      NAMES[(schema.$id as string | undefined) ?? ''] ?? (key ? NAMES[key[0]!.toUpperCase() + key.slice(1)] : undefined),
  });
}

/** Type-checks `files` (in memory) beside `types.ts`; answers the diagnostics as text. */
const typeCheck = (files: Record<string, string>): string[] => typeCheckInMemory(files, DIR, Object.keys(files));

const DIR = resolve(import.meta.dirname, '__schema_types__');

/** The check module: one line per pair, `true` only when the two types are identical. */
function checkModule(pairs: Array<[string, string]>): string {
  const lines = [
    `import type { ${[...new Set(pairs.map(([h]) => h))].join(', ')} } from '${TYPES}';`,
    "import type * as request from './request.ts';",
    "import type * as batch from './batch.ts';",
    EQUALS_TYPE,
  ];
  pairs.forEach(([hand, generated], i) => lines.push(`export const same${i}: Equals<${hand}, ${generated}> = true; // ${hand}`));
  return lines.join('\n');
}

describe('types.ts against schemas/', () => {
  it('declares each wire type exactly as its JSON Schema does', async () => {
    const byId = schemasById();
    const files = {
      [join(DIR, 'request.ts')]: await generate(byId, 'https://argus.dev/schemas/authorize-request.json'),
      [join(DIR, 'batch.ts')]: await generate(byId, 'https://argus.dev/schemas/authorize-batch-request.json'),
      [join(DIR, 'check.ts')]: checkModule(PAIRS),
    };
    expect(typeCheck(files), 'types.ts drifted from schemas/ (each line names the type that differs)').toEqual([]);
  }, 30_000);

  it('fails on a difference: a field the schema does not have', async () => {
    const byId = schemasById();
    const request = await generate(byId, 'https://argus.dev/schemas/authorize-request.json');
    const files = {
      [join(DIR, 'request.ts')]: request.replace('export interface EntityInput {', 'export interface EntityInput {\n  extra?: string;'),
      [join(DIR, 'batch.ts')]: await generate(byId, 'https://argus.dev/schemas/authorize-batch-request.json'),
      [join(DIR, 'check.ts')]: checkModule(PAIRS.slice(1, 2)),
    };
    expect(request).toContain('export interface EntityInput {');
    expect(typeCheck(files).join('\n')).toMatch(/EntityInput: Type 'true' is not assignable to type 'false'/);
  }, 30_000);
});
