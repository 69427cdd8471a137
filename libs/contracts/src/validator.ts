import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/** One located problem: a JSON Pointer into the document and what is wrong there. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** The answer of a validator: the typed value, or every issue found. */
export type Validation<T> = { ok: true; value: T } | { ok: false; errors: ValidationIssue[] };

/** Where the JSON Schemas live: `schemas/` at the repository root (overridable for packaged installs). */
export const SCHEMAS_DIR = process.env.ARGUS_SCHEMAS_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas');

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

let shared: Ajv2020 | undefined;

/** The single ajv instance with every schema in `schemas/` registered by its `$id`. Compiled once. */
export function schemaRegistry(): Ajv2020 {
  if (shared) return shared;
  const ajv = new Ajv2020({ allErrors: true, strict: true, useDefaults: true, coerceTypes: false, allowUnionTypes: true });
  addFormats(ajv);
  for (const file of listSchemaFiles(SCHEMAS_DIR)) {
    ajv.addSchema(JSON.parse(readFileSync(file, 'utf8')) as object);
  }
  shared = ajv;
  return ajv;
}

function listSchemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSchemaFiles(full));
    else if (entry.name.endsWith('.schema.json')) out.push(full);
  }
  return out.sort();
}

/** Returns a validator for the schema registered under `$id` (e.g. `https://argus.dev/schemas/authorize-request.json`). */
export function validatorFor<T>(schemaId: string): (data: unknown) => Validation<T> {
  const fn = schemaRegistry().getSchema(schemaId) as ValidateFunction<T> | undefined;
  if (!fn) throw new Error(`schema \`${schemaId}\` is not registered`);
  return (data: unknown) => (fn(data) ? { ok: true, value: data } : { ok: false, errors: toIssues(fn.errors ?? []) });
}

/** Maps ajv errors to located issues, naming the offending property where ajv knows it. */
export function toIssues(errors: readonly ErrorObject[]): ValidationIssue[] {
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const e of errors) {
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      path = `${path}/${prop}`;
      message = `unknown field \`${prop}\``;
    } else if (e.keyword === 'required') {
      const prop = String((e.params as { missingProperty: string }).missingProperty);
      path = `${path}/${prop}`;
      message = `missing required field \`${prop}\``;
    } else if (e.keyword === 'unevaluatedProperties') {
      const prop = String((e.params as { unevaluatedProperty: string }).unevaluatedProperty);
      path = `${path}/${prop}`;
      message = `unknown field \`${prop}\``;
    } else if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      continue;
    }
    const key = `${path} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: path || '/', message });
  }
  return issues.length > 0 ? issues : [{ path: '/', message: 'does not match the schema' }];
}
