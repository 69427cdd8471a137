/**
 * The contract suite of a configuration file (`ConfigFile`), run by every component against its
 * own file the way storage adapters run one conformance suite: for every environment override,
 * the key exists in the schema with the variable's type, no key has two variables, and the
 * precedence default < file < environment < flags holds; text that cannot be read is refused at
 * that key, naming the variable, never the value.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaRegistry } from '@argus/contracts';
import { describe, expect, it } from 'vitest';
import { pointerGet, pointerSet, type ConfigFile, type EnvValueType, type LoadOptions } from '../config-section.ts';
import { ConfigError } from '../errors.ts';

/** A value as the file holds it, another as the environment spells it, and that one as the configuration holds it. */
export interface EnvSample {
  file: unknown;
  env: string;
  parsed: unknown;
}

/** What the suite needs beyond the file itself. */
export interface ConfigFileSuiteOptions {
  /** One sample per environment variable of the file (a new variable needs its row). */
  samples: Readonly<Record<string, EnvSample>>;
  /** The keys every document of this file must have (the proxy's upstreams, discover's registry). */
  base?: Record<string, unknown>;
  /** Extra defaults the file's loader applies (the standalone registry's store URL). */
  defaults?: LoadOptions['defaults'];
}

type SchemaNode = Record<string, unknown>;

/** The schema of the key at `pointer` below the schema `$id`, following `$ref`s; undefined when there is none. */
export function schemaAt(schemaId: string, pointer: string): SchemaNode | undefined {
  const ajv = schemaRegistry();
  const load = (ref: string, base: string): { node: SchemaNode; base: string } | undefined => {
    const [id, fragment = ''] = ref.startsWith('#') ? [base, ref.slice(1)] : ref.split('#');
    let node = ajv.getSchema(id!)?.schema as SchemaNode | undefined;
    for (const part of fragment.split('/').filter(Boolean)) node = node?.[part] as SchemaNode | undefined;
    return node ? { node, base: id! } : undefined;
  };
  let at = load(schemaId, schemaId);
  for (const part of ['', ...pointer.split('/').slice(1)]) {
    while (at && typeof at.node.$ref === 'string') at = load(at.node.$ref, at.base);
    if (!at || part === '') continue;
    const properties = at.node.properties as Record<string, SchemaNode> | undefined;
    const additional = at.node.additionalProperties;
    const next = properties?.[part] ?? (typeof additional === 'object' && additional !== null ? (additional as SchemaNode) : undefined);
    at = next ? { node: next, base: at.base } : undefined;
  }
  while (at && typeof at.node.$ref === 'string') at = load(at.node.$ref, at.base);
  return at?.node;
}

/** The environment type a schema node reads as. */
function envTypeOf(node: SchemaNode): EnvValueType | undefined {
  if (node.type === 'integer') return 'integer';
  if (node.type === 'boolean') return 'boolean';
  if (node.type === 'string') return 'string';
  if (Array.isArray(node.enum) && node.enum.every((v) => typeof v === 'string')) return 'string';
  if (node.type === 'object' && typeof node.additionalProperties === 'object') return 'token-map';
  return undefined;
}

/** Registers the suite for `file` (call it inside a test module). */
export function describeConfigFile(name: string, file: ConfigFile<unknown>, options: ConfigFileSuiteOptions): void {
  const dir = mkdtempSync(join(tmpdir(), 'argus-config-suite-'));
  let n = 0;
  const write = (doc: unknown): string => {
    const path = join(dir, `${++n}.json`);
    writeFileSync(path, JSON.stringify(doc));
    return path;
  };
  const docWith = (pointer: string, value: unknown): Record<string, unknown> => {
    const doc = structuredClone(options.base ?? {});
    pointerSet(doc, pointer, value);
    return doc;
  };
  const load = (o: LoadOptions): unknown => file.load({ ...(options.defaults ? { defaults: options.defaults } : {}), ...o });

  describe(`${name}: environment overrides`, () => {
    it('has a sample for every override (a new override needs its row)', () => {
      expect(Object.keys(options.samples).sort()).toEqual(Object.keys(file.env).sort());
    });

    it('sets each key of the schema with one variable, of the key’s type', () => {
      const byPointer = new Map<string, string[]>();
      for (const [variable, override] of Object.entries(file.env)) {
        byPointer.set(override.pointer, [...(byPointer.get(override.pointer) ?? []), variable]);
        const node = schemaAt(file.schemaId, override.pointer);
        expect(node, `${variable} → ${override.pointer} is no key of ${file.schemaId}`).toBeDefined();
        expect(envTypeOf(node!), `${variable} reads as ${override.type}`).toBe(override.type);
      }
      for (const [pointer, variables] of byPointer) expect(variables, pointer).toHaveLength(1);
    });

    for (const [variable, override] of Object.entries(file.env)) {
      const { pointer } = override;
      it(`${variable} → ${pointer}: default < file < environment < flags`, () => {
        const sample = options.samples[variable];
        expect(sample, `no sample for ${variable}`).toBeDefined();
        const fromFile = write(docWith(pointer, sample!.file));
        const byDefault = pointerGet(load({ document: options.base ?? {}, env: {} }), pointer);
        expect(byDefault).not.toEqual(sample!.file);
        expect(pointerGet(load({ file: fromFile, env: {} }), pointer)).toEqual(sample!.file);
        expect(pointerGet(load({ file: fromFile, env: { [variable]: sample!.env } }), pointer)).toEqual(sample!.parsed);
        // An empty variable is no override.
        expect(pointerGet(load({ file: fromFile, env: { [variable]: '' } }), pointer)).toEqual(sample!.file);
        // What a flag sets beats all three.
        const flagged = load({ file: fromFile, env: { [variable]: sample!.env }, flags: { [pointer]: sample!.file } });
        expect(pointerGet(flagged, pointer)).toEqual(sample!.file);
      });

      if (override.type !== 'string') {
        it(`${variable}: unreadable text is refused at ${pointer}, naming the variable and not the value`, () => {
          const canary = 'canary-value-never-printed=x=y';
          const bad = override.type === 'token-map' ? 'canary-value-never-printed' : canary;
          try {
            load({ document: options.base ?? {}, env: { [variable]: bad } });
            expect.unreachable(`${variable}=${bad} was accepted`);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
            const e = err as ConfigError;
            expect(e.errors).toContainEqual({ path: pointer, message: expect.stringContaining(variable) as unknown as string });
            expect(JSON.stringify({ m: e.message, e: e.errors })).not.toContain('canary-value');
          }
        });
      }
    }
  });
}

/** A section's hand-written value type and the module that exports it. */
export interface SectionTypePair {
  /** `$id` of the section's schema. */
  schemaId: string;
  /** The exported type name, e.g. `StoreConfig`. */
  type: string;
  /** Absolute path of the module exporting it. */
  module: string;
  /**
   * Top-level keys left out of the comparison, each for a reason the caller states: a key a
   * section's check fills (not its schema), or a union the generator cannot express (`if`/`then`).
   */
  omit?: readonly string[];
}

/**
 * The schema as a parsed section looks: every property with a `default` is present (the loader
 * filled it), so it is required in the generated type.
 */
function parsedView(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(parsedView);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node))
    out[k] =
      k === 'properties' && v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, parsedView(s)]))
        : parsedView(v);
  if (out.properties && typeof out.properties === 'object') {
    const defaulted = Object.entries(out.properties as Record<string, { default?: unknown }>)
      .filter(([, s]) => s !== null && typeof s === 'object' && s.default !== undefined)
      .map(([p]) => p);
    if (defaulted.length > 0) out.required = [...new Set([...((out.required as string[] | undefined) ?? []), ...defaulted])];
  }
  return out;
}

/**
 * Drift between each section's hand-written value type and its JSON Schema: the schema (with its
 * defaults filled) is compiled to TypeScript with json-schema-to-typescript, and the compiler
 * checks the two types are identical. Answers one line per difference, naming the type.
 */
export async function sectionTypeDrift(pairs: readonly SectionTypePair[]): Promise<string[]> {
  const { EQUALS_TYPE, schemaToTypeScript, typeCheckInMemory } = await import('@argus/contracts/testing/type-drift');
  const ajv = schemaRegistry();
  const view = (id: string): unknown => parsedView(ajv.getSchema(id)?.schema);
  const dir = join(tmpdir(), 'argus-section-types');
  const files: Record<string, string> = {};
  const lines = [EQUALS_TYPE];
  for (const [i, pair] of pairs.entries()) {
    const schema = { ...(view(pair.schemaId) as Record<string, unknown>), title: undefined, $id: undefined };
    files[join(dir, `generated${i}.ts`)] = await schemaToTypeScript(schema, 'Generated', view);
    lines.push(
      `import type { ${pair.type} as Hand${i} } from '${pair.module}';`,
      `import type { Generated as Generated${i} } from './generated${i}.ts';`,
    );
    // One line per key, so a difference names the key; then the key sets themselves.
    const omitted = new Set(pair.omit ?? []);
    const omit = omitted.size > 0 ? [...omitted].map((k) => `'${k}'`).join(' | ') : 'never';
    lines.push(
      `export const keys${i}: Equals<Exclude<keyof Hand${i}, ${omit}>, Exclude<keyof Generated${i}, ${omit}>> = true; // ${pair.type}: its keys`,
    );
    for (const key of Object.keys((schema as { properties?: object }).properties ?? {}).filter((k) => !omitted.has(k)))
      lines.push(
        `export const key${i}_${key.replace(/\W/g, '_')}: Equals<Hand${i}['${key}'], Generated${i}['${key}']> = true; // ${pair.type}.${key}`,
      );
  }
  const check = join(dir, 'check.ts');
  files[check] = lines.join('\n');
  return typeCheckInMemory(files, dir, [check], ['node']);
}
