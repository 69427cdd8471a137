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

/**
 * Documents that carry Cedar values to a decision (`POST /v1/authorize`, its batch form, `/v1/data`):
 * their integers must survive JSON parsing exactly (see {@link unsafeIntegers}).
 */
export const CEDAR_INPUT_SCHEMAS: ReadonlySet<string> = new Set([
  'https://argus.dev/schemas/authorize-request.json',
  'https://argus.dev/schemas/authorize-batch-request.json',
  'https://argus.dev/schemas/data-request.json',
]);

/** The message of an integer that cannot reach Cedar exactly. */
export const UNSAFE_INTEGER_MESSAGE = 'integer outside the range Argus can pass to Cedar exactly';

/**
 * Every integer-valued number in `value` outside `Number.isSafeInteger` (±2^53 - 1), as a located
 * issue (JSON Pointer). Cedar's `Long` is 64-bit, but JSON numbers beyond 2^53 have already lost
 * precision in JavaScript: passing them on would decide on a different number than the caller sent.
 * At most `limit` issues.
 */
export function unsafeIntegers(value: unknown, base = '', limit = 10): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  // Depth-first, in document order, with the keys of the current path kept apart: a pointer is
  // written only for an issue (building one per value was most of this walk's cost per request).
  const values: unknown[] = [value];
  const keys: Array<string | number> = [''];
  const depths: number[] = [0];
  const path: Array<string | number> = [];
  while (values.length > 0 && issues.length < limit) {
    const v = values.pop();
    const key = keys.pop()!;
    const depth = depths.pop()!;
    if (depth > 0) {
      path.length = depth - 1;
      path.push(key);
    }
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v))
        issues.push({ path: pointer(base, path, depth) || '/', message: UNSAFE_INTEGER_MESSAGE });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        values.push(v[i]);
        keys.push(i);
        depths.push(depth + 1);
      }
    } else if (v !== null && typeof v === 'object') {
      const names = Object.keys(v);
      for (let i = names.length - 1; i >= 0; i--) {
        values.push((v as Record<string, unknown>)[names[i]!]);
        keys.push(names[i]!);
        depths.push(depth + 1);
      }
    }
  }
  return issues;
}

/** The JSON Pointer of the first `depth` keys of `path` under `base`. */
function pointer(base: string, path: ReadonlyArray<string | number>, depth: number): string {
  let out = base;
  for (let i = 0; i < depth; i++) out += `/${String(path[i]).replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return out;
}

/**
 * Returns a validator for the schema registered under `$id` (e.g. `https://argus.dev/schemas/authorize-request.json`).
 * For the decision documents ({@link CEDAR_INPUT_SCHEMAS}) an integer Cedar could not receive exactly is an issue too.
 */
export function validatorFor<T>(schemaId: string): (data: unknown) => Validation<T> {
  const registry = schemaRegistry();
  if (registry.schemas[schemaId] === undefined) throw new Error(`schema \`${schemaId}\` is not registered`);
  // Compiled on first use, not when a router is built: start-up compiles only what it validates
  // (the configuration), and each route pays its compile once, on its first request.
  let compiled: ValidateFunction<T> | undefined;
  const validator = (): ValidateFunction<T> => (compiled ??= registry.getSchema(schemaId) as ValidateFunction<T>);
  if (CEDAR_INPUT_SCHEMAS.has(schemaId)) {
    return (data: unknown) => {
      const fn = validator();
      const valid = fn(data);
      const inexact = unsafeIntegers(data);
      if (valid && inexact.length === 0) return { ok: true, value: data as T };
      return { ok: false, errors: [...(valid ? [] : toIssues(fn.errors ?? [])), ...inexact] };
    };
  }
  return (data: unknown) => {
    const fn = validator();
    return fn(data) ? { ok: true, value: data as T } : { ok: false, errors: toIssues(fn.errors ?? []) };
  };
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
