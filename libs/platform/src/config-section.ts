/**
 * Configuration per component, the way Cerbos validates each `Conf` section: a component defines
 * its section next to its code — the key it sits under, its JSON Schema, the environment variables
 * that override it, what its schema cannot say — and a configuration file is the sections it holds.
 *
 * One precedence for every key: schema or embedded defaults < the file < the environment < flags.
 * A bad configuration is one `ConfigError` naming every offending JSON Pointer, never a value.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validatorFor } from '@argus/contracts';
import { ConfigError, type ErrorDetail } from './errors.ts';

/**
 * How the text of an environment variable becomes a value: as is, a decimal integer, `true` /
 * `false`, or a token map (`id=token,id2=token2` or a JSON object).
 */
export type EnvValueType = 'string' | 'integer' | 'boolean' | 'token-map';

/** One environment override: the key it sets (a JSON Pointer, relative to the section) and how its text reads. */
export interface EnvOverride {
  readonly pointer: string;
  readonly type: EnvValueType;
}

/** Environment variable name → the key it overrides. */
export type EnvTable = Readonly<Record<string, EnvOverride>>;

/** One located problem: a JSON Pointer and what is wrong there (never the value). */
export type ConfigIssue = ErrorDetail;

/** A section's answer: its typed, defaulted, frozen value, or every problem found. */
export type ConfigResult<T> = { ok: true; value: T } | { ok: false; errors: ConfigIssue[] };

/** Facts about where a section was read from, for checks that depend on them. */
export interface SectionContext {
  /** Directory of the configuration file, to resolve the relative paths it names. */
  readonly baseDir?: string;
}

/**
 * A configuration section. `parse` validates a raw section (environment overrides already applied)
 * against `schemaId`, fills the defaults, checks what the schema cannot, and freezes the result; the
 * issues' pointers are relative to the section.
 */
export interface ConfigSection<T> {
  /** Where the section sits in the Argus configuration file (`server`, `store`, ...). */
  readonly key: string;
  /** `$id` of the section's JSON Schema (`schemas/config/<key>.schema.json`). */
  readonly schemaId: string;
  /** The environment variables that override this section, by name. */
  readonly env: EnvTable;
  /**
   * An optional section is absent unless the file has it (`proxy`, `discover`): it is not filled
   * from defaults, and its environment overrides apply only when the file has it.
   */
  readonly optional: boolean;
  /** Validates, fills defaults, checks and freezes a raw section (see above). */
  parse(raw: unknown, context?: SectionContext): ConfigResult<T>;
  /**
   * The section with nothing set: every default (the schema's, and what its checks fill). Fails,
   * naming them, for a section with required keys (`proxy.upstreams`).
   */
  defaults(): ConfigResult<T>;
}

/** The value type of a section. */
export type SectionValue<S> = S extends ConfigSection<infer T> ? T : never;

/** The sections of a file by key. */
export type SectionMap = Readonly<Record<string, ConfigSection<unknown>>>;

/** The typed configuration a file of `S` sections yields: an optional section may be absent. */
export type ConfigOf<S extends SectionMap> = {
  readonly [K in keyof S as S[K]['optional'] extends true ? never : K]: SectionValue<S[K]>;
} & {
  readonly [K in keyof S as S[K]['optional'] extends true ? K : never]?: SectionValue<S[K]>;
};

/** What a section definition gives: the schema does the rest. */
export interface SectionSpec<T, Optional extends boolean> {
  key: string;
  schemaId: string;
  env?: EnvTable;
  optional?: Optional;
  /**
   * Checks and fills what a schema cannot (cross-field rules, computed defaults) on the validated
   * value, which it may complete in place; returns the problems found (pointers relative to the section).
   */
  check?: (value: T, context: SectionContext) => ConfigIssue[] | void;
}

/** A section whose optionality is known to the type system (so {@link ConfigOf} can mark it absent). */
export type DefinedSection<T, Optional extends boolean = false> = ConfigSection<Readonly<T>> & { readonly optional: Optional };

/** Defines a section: schema validation with defaults, then `check`, then a deep freeze. */
export function defineSection<T, Optional extends boolean = false>(spec: SectionSpec<T, Optional>): DefinedSection<T, Optional> {
  const validate = lazy(() => validatorFor<T>(spec.schemaId));
  const parse = (raw: unknown, context: SectionContext = {}): ConfigResult<Readonly<T>> => {
    const result = validate()(raw === undefined ? {} : structuredClone(raw));
    if (!result.ok) return { ok: false, errors: result.errors };
    const errors = spec.check?.(result.value, context) ?? [];
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, value: deepFreeze(result.value) };
  };
  return {
    key: spec.key,
    schemaId: spec.schemaId,
    env: Object.freeze({ ...(spec.env ?? {}) }),
    optional: (spec.optional ?? false) as Optional,
    parse,
    defaults: () => parse(undefined),
  };
}

/** The same section reading no environment variable (where its variables belong to another file). */
export function withoutEnv<S extends ConfigSection<unknown>>(section: S): S {
  return { ...section, env: Object.freeze({}) };
}

/** Parses one section on its own (no environment) and throws `ConfigError` naming every offending path. */
export function parseSection<T>(section: ConfigSection<T>, raw: unknown, context?: SectionContext): T {
  const result = section.parse(raw, context);
  if (!result.ok) throw new ConfigError(`invalid ${section.key} configuration: ${describe(result.errors)}`, result.errors);
  return result.value;
}

/** A pointer → value layer: a value, or a function of the document so far (evaluated only when needed). */
export type ConfigLayer = Readonly<Record<string, unknown>>;

/** What a configuration is loaded from, lowest precedence first. */
export interface LoadOptions {
  /**
   * Defaults beyond the schema's (`argus serve`'s data dir): a key takes one only when neither the
   * file, the environment nor a flag sets it. A function value is called with the document so far.
   */
  defaults?: ConfigLayer;
  /** JSON or YAML file; absent → `{}`. */
  file?: string;
  /** The document itself, instead of a file (tests, embedded callers). */
  document?: unknown;
  /** Default `process.env`; an empty variable is no override. */
  env?: NodeJS.ProcessEnv;
  /** What command-line flags set: beats everything else. */
  flags?: ConfigLayer;
  /** Where relative paths in the document are resolved from (default: the file's directory). */
  baseDir?: string;
}

/**
 * A configuration file: sections under their keys ({@link composeConfigFile}) or one section as the
 * whole file ({@link standaloneConfigFile}); the union of their environment overrides; its loader.
 */
export interface ConfigFile<T> {
  readonly schemaId: string;
  /** Every environment override of the file: variable → absolute JSON Pointer. One place, the sections' union. */
  readonly env: EnvTable;
  /** Loads with the precedence defaults < file < environment < flags; throws one `ConfigError` naming every bad path. */
  load(options?: LoadOptions): T;
}

/**
 * A file made of sections under their keys (the Argus configuration file). Unknown top-level keys
 * are errors; every section is parsed and all their problems are reported together.
 */
export function composeConfigFile<S extends SectionMap>(schemaId: string, sections: S): ConfigFile<ConfigOf<S>> & { sections: S } {
  const env = unionEnv(Object.values(sections).map((s) => ({ prefix: `/${s.key}`, table: s.env })));
  for (const [key, s] of Object.entries(sections)) if (s.key !== key) throw new Error(`section \`${s.key}\` is listed under \`${key}\``);
  return {
    schemaId,
    sections,
    env,
    load(options = {}) {
      const context = contextOf(options);
      const { doc, errors } = layered(options, env, (pointer) => {
        const s = sections[pointer.split('/')[1]!];
        return s !== undefined && s.optional;
      });
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(doc)) {
        if (key !== '$schema' && !(key in sections)) errors.push({ path: `/${escape(key)}`, message: `unknown field \`${key}\`` });
      }
      for (const [key, section] of Object.entries(sections)) {
        if (section.optional && doc[key] === undefined) continue;
        const r = section.parse(doc[key], context);
        if (r.ok) out[key] = r.value;
        else errors.push(...r.errors.map((e) => ({ path: `/${escape(key)}${e.path === '/' ? '' : e.path}`, message: e.message })));
      }
      if (errors.length > 0) throw new ConfigError(`invalid configuration: ${describe(errors)}`, byPath(errors));
      return Object.freeze(out) as ConfigOf<S>;
    },
  };
}

/** A file that is one section (the standalone proxy, discover and registry). */
export function standaloneConfigFile<T>(section: ConfigSection<T>): ConfigFile<T> & { section: ConfigSection<T> } {
  const env = unionEnv([{ prefix: '', table: section.env }]);
  return {
    schemaId: section.schemaId,
    section,
    env,
    load(options = {}) {
      const { doc, errors } = layered(options, env, () => false);
      const r = section.parse(doc, contextOf(options));
      if (!r.ok) errors.push(...r.errors);
      if (errors.length > 0 || !r.ok) throw new ConfigError(`invalid ${section.key} configuration: ${describe(errors)}`, byPath(errors));
      return r.value;
    },
  };
}

/**
 * Reads a JSON or YAML configuration file into an object. Throws `ConfigError` for an unreadable
 * or unparsable file without printing its content (it may hold secrets).
 */
export function readConfigDocument(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file \`${file}\` cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, [
      { path: '/', message: 'cannot be read' },
    ]);
  }
  const json = file.endsWith('.json');
  let doc: unknown;
  try {
    doc = (json ? JSON.parse(text) : parseYaml(text)) ?? {};
  } catch {
    throw new ConfigError(`config file \`${file}\` is not valid ${json ? 'JSON' : 'YAML'}`, [
      { path: '/', message: `not valid ${json ? 'JSON' : 'YAML'}` },
    ]);
  }
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`config file \`${file}\` must hold an object`, [{ path: '/', message: 'must be object' }]);
  return doc as Record<string, unknown>;
}

/**
 * Reads an environment variable as `type` would have it. `undefined` for an unset or empty
 * variable (no override); an issue at `pointer` naming the variable (never its value) for bad text.
 */
export function readEnvValue(
  name: string,
  override: EnvOverride,
  pointer: string,
  env: NodeJS.ProcessEnv,
): { value?: unknown; issue?: ConfigIssue } {
  const raw = env[name];
  if (raw === undefined || raw === '') return {};
  switch (override.type) {
    case 'string':
      return { value: raw };
    case 'integer':
      return /^-?\d+$/.test(raw.trim())
        ? { value: Number(raw.trim()) }
        : { issue: { path: pointer, message: `${name} must be an integer` } };
    case 'boolean':
      return raw === 'true' || raw === 'false'
        ? { value: raw === 'true' }
        : { issue: { path: pointer, message: `${name} must be \`true\` or \`false\`` } };
    case 'token-map':
      return tokenMap(name, raw, pointer);
  }
}

/** The value at `pointer` in `doc`, or undefined. */
export function pointerGet(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const part of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[unescape(part)];
  }
  return node;
}

/** Sets `pointer` in `doc`, creating the objects on the way. */
export function pointerSet(doc: Record<string, unknown>, pointer: string, value: unknown): void {
  const parts = pointer.split('/').slice(1).map(unescape);
  let node = doc;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The union of section tables under their prefixes; a variable claimed twice is a definition bug. */
function unionEnv(parts: Array<{ prefix: string; table: EnvTable }>): EnvTable {
  const out: Record<string, EnvOverride> = {};
  for (const { prefix, table } of parts) {
    for (const [name, o] of Object.entries(table)) {
      // INVARIANT: one variable sets one key of a file (a test checks every file's table).
      if (out[name])
        throw new Error(`environment variable \`${name}\` overrides both \`${out[name].pointer}\` and \`${prefix}${o.pointer}\``);
      out[name] = Object.freeze({ pointer: `${prefix}${o.pointer}`, type: o.type });
    }
  }
  return Object.freeze(out);
}

/**
 * The document with every layer applied: the file (or `document`), the environment, the flags, then
 * the extra defaults for what is still unset; an unreadable variable is an issue (the key keeps its
 * file value, so the sections still report their own problems). `optionalAt(pointer)`: the key belongs to an optional
 * section, whose overrides apply only when the file has that section.
 */
function layered(
  options: LoadOptions,
  env: EnvTable,
  optionalAt: (pointer: string) => boolean,
): { doc: Record<string, unknown>; errors: ConfigIssue[] } {
  const source = options.document !== undefined ? options.document : options.file ? readConfigDocument(options.file) : {};
  if (source === null || typeof source !== 'object' || Array.isArray(source))
    throw new ConfigError('invalid configuration: / must be object', [{ path: '/', message: 'must be object' }]);
  const doc = structuredClone(source) as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const vars = options.env ?? process.env;
  for (const [name, override] of Object.entries(env)) {
    if (optionalAt(override.pointer) && doc[override.pointer.split('/')[1]!] === undefined) continue;
    const { value, issue } = readEnvValue(name, override, override.pointer, vars);
    if (issue) issues.push(issue);
    else if (value !== undefined) pointerSet(doc, override.pointer, value);
  }
  for (const [pointer, value] of Object.entries(options.flags ?? {})) if (value !== undefined) pointerSet(doc, pointer, value);
  for (const [pointer, value] of Object.entries(options.defaults ?? {})) {
    if (pointerGet(doc, pointer) !== undefined) continue;
    const v = typeof value === 'function' ? (value as (d: unknown) => unknown)(doc) : value;
    if (v !== undefined) pointerSet(doc, pointer, v);
  }
  return { doc, errors: issues };
}

function tokenMap(name: string, raw: string, pointer: string): { value?: unknown; issue?: ConfigIssue } {
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      return { issue: { path: pointer, message: `${name} must be a JSON object or \`id=token,...\`` } };
    }
  }
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return { issue: { path: pointer, message: `${name} must be \`id=token,...\` (an entry has no \`=\`)` } };
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return { value: out };
}

/** The issues ordered by path (stable: a variable's issue stays before the schema's at the same key). */
function byPath(errors: ConfigIssue[]): ConfigIssue[] {
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.path < b.e.path ? -1 : a.e.path > b.e.path ? 1 : a.i - b.i))
    .map((x) => x.e);
}

/** The message names every offending path; `errors` says what is wrong at each. */
function describe(errors: readonly ConfigIssue[]): string {
  return [...new Set(byPath([...errors]).map((e) => e.path))].join(', ');
}

function contextOf(options: LoadOptions): SectionContext {
  const baseDir = options.baseDir ?? (options.file ? dirname(resolve(options.file)) : undefined);
  return baseDir ? { baseDir } : {};
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescape(part: string): string {
  return part.replace(/~1/g, '/').replace(/~0/g, '~');
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
