/**
 * Reading entity and context data the way Cedar reads it with a schema. Cedar's JSON formats let a
 * value whose type the schema declares be written without its escape: an entity reference as
 * `{ "type": "User", "id": "alice" }` (instead of `{ "__entity": { ... } }`), an extension value
 * as its constructor's argument (`"10.0.0.1"` for an `ipaddr`, `"0.8"` for a `decimal`) or as
 * `{ "fn": "ip", "arg": "10.0.0.1" }`. Cedar given the schema reads them as the declared types;
 * evaluated without the schema (the decision path's default, see `evaluate.ts`) they would be a
 * record and a string, and a policy reading them would error or compare unequal. So the engine
 * rewrites such values, where the schema declares them, into the escaped forms before evaluating.
 *
 * The plans are built once per policy set from its schema and touch only the attributes (and tags
 * and context fields) whose declared type holds an entity or an extension type; an entity or a
 * context with nothing to rewrite is returned as it is (no copy).
 */
import { cedar } from './cedar-wasm.ts';
import type { CedarEntity, CedarValue } from './types.ts';

/** Rewrites one value to its escaped form where needed; returns the value itself when nothing changes. */
type Plan = (value: unknown) => unknown;

/** The schema's rewrites: per entity type (attributes, tags) and per action (context). */
export interface SchemaValues {
  entity(e: CedarEntity): CedarEntity;
  /** `action` as `uidKey` renders it. */
  context(action: string, context: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

/** The extension types of a schema and the constructor of each. */
export const EXTENSIONS: Record<string, string> = { ipaddr: 'ip', decimal: 'decimal', datetime: 'datetime', duration: 'duration' };
const PRIMITIVES = new Set(['String', 'Long', 'Bool', 'Boolean']);

/** A type in a schema's JSON form, common types resolved (`resolvedSchemaJson`). */
export interface JsonType {
  type: string;
  name?: string;
  element?: JsonType;
  attributes?: Record<string, JsonType>;
}
/** A namespace of a schema's JSON form. */
export interface JsonNamespace {
  commonTypes?: Record<string, JsonType>;
  entityTypes?: Record<string, { shape?: JsonType; tags?: JsonType }>;
  actions?: Record<string, { appliesTo?: { context?: JsonType } }>;
}

/** The namespaces of a schema's JSON form, with its common types and entity types by qualified name. */
export function schemaIndex(resolved: Record<string, unknown>): {
  namespaces: Array<[string, JsonNamespace]>;
  qualify: (ns: string, name: string) => string;
  common: Map<string, JsonType>;
  entityTypes: Set<string>;
} {
  const namespaces = Object.entries(resolved as Record<string, JsonNamespace>);
  const qualify = (ns: string, name: string) => (ns ? `${ns}::${name}` : name);
  const common = new Map<string, JsonType>();
  const entityTypes = new Set<string>();
  for (const [ns, def] of namespaces) {
    for (const [name, t] of Object.entries(def.commonTypes ?? {})) common.set(qualify(ns, name), t);
    for (const name of Object.keys(def.entityTypes ?? {})) entityTypes.add(qualify(ns, name));
  }
  return { namespaces, qualify, common, entityTypes };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const entityPlan: Plan = (v) => {
  if (!isObject(v) || '__entity' in v) return v;
  return typeof v.type === 'string' && typeof v.id === 'string' ? { __entity: { type: v.type, id: v.id } } : v;
};

function extensionPlan(fn: string): Plan {
  return (v) => {
    if (typeof v === 'string') return { __extn: { fn, arg: v } };
    if (isObject(v) && !('__extn' in v) && typeof v.fn === 'string' && 'arg' in v) return { __extn: { fn: v.fn, arg: v.arg } };
    return v;
  };
}

function setPlan(element: Plan): Plan {
  return (v) => {
    if (!Array.isArray(v)) return v;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = element(v[i]);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return out ?? v;
  };
}

function recordPlan(fields: ReadonlyArray<[string, Plan]>): Plan {
  return (v) => {
    if (!isObject(v) || '__entity' in v || '__extn' in v) return v;
    let out: Record<string, unknown> | undefined;
    for (const [k, plan] of fields) {
      if (!Object.hasOwn(v, k)) continue;
      const x = plan(v[k]);
      if (x !== v[k]) (out ??= { ...v })[k] = x;
    }
    return out ?? v;
  };
}

/** The schema text in Cedar's JSON form, common types and names resolved; undefined when it cannot be read. */
export function resolvedSchemaJson(schemaText: string): Record<string, unknown> | undefined {
  try {
    const r = cedar.schemaToJsonWithResolvedTypes(schemaText);
    return r.type === 'success' ? (r.json as unknown as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The rewrites the schema calls for (its text, or its JSON form from {@link resolvedSchemaJson}),
 * or undefined when it declares nothing to rewrite (or cannot be read).
 */
export function schemaValues(schema: string | Record<string, unknown> | undefined): SchemaValues | undefined {
  const resolved = typeof schema === 'string' ? resolvedSchemaJson(schema) : schema;
  if (!resolved) return undefined;
  const { namespaces, qualify, common, entityTypes } = schemaIndex(resolved);

  /** The plan of a type, or undefined when values of it never need a rewrite. */
  const planOf = (t: JsonType | undefined, depth = 0): Plan | undefined => {
    if (!t || depth > 64) return undefined;
    switch (t.type) {
      case 'Entity':
        return entityPlan;
      case 'Set': {
        const element = planOf(t.element, depth + 1);
        return element && setPlan(element);
      }
      case 'Record': {
        const fields: Array<[string, Plan]> = [];
        for (const [k, a] of Object.entries(t.attributes ?? {})) {
          const p = planOf(a, depth + 1);
          if (p) fields.push([k, p]);
        }
        return fields.length > 0 ? recordPlan(fields) : undefined;
      }
      case 'Extension':
        return t.name && EXTENSIONS[t.name] ? extensionPlan(EXTENSIONS[t.name]!) : undefined;
      case 'EntityOrCommon':
        return t.name ? named(t.name, depth) : undefined;
      default:
        return named(t.type, depth);
    }
  };
  const named = (name: string, depth: number): Plan | undefined => {
    const bare = name.startsWith('__cedar::') ? name.slice('__cedar::'.length) : name;
    if (common.has(name)) return planOf(common.get(name), depth + 1);
    if (EXTENSIONS[bare]) return extensionPlan(EXTENSIONS[bare]!);
    if (PRIMITIVES.has(bare)) return undefined;
    if (entityTypes.has(name)) return entityPlan;
    return undefined;
  };

  const entities = new Map<string, { attrs?: Plan; tags?: Plan }>();
  const contexts = new Map<string, Plan>();
  for (const [ns, def] of namespaces) {
    for (const [name, et] of Object.entries(def.entityTypes ?? {})) {
      const attrs = planOf(et.shape);
      const tags = et.tags ? planOf(et.tags) : undefined;
      if (attrs || tags) entities.set(qualify(ns, name), { ...(attrs ? { attrs } : {}), ...(tags ? { tags } : {}) });
    }
    for (const [name, action] of Object.entries(def.actions ?? {})) {
      const plan = planOf(action.appliesTo?.context);
      if (plan) contexts.set(`${qualify(ns, 'Action')}::${JSON.stringify(name)}`, plan);
    }
  }
  if (entities.size === 0 && contexts.size === 0) return undefined;

  return {
    entity(e) {
      const plans = entities.get(e.uid.type);
      if (!plans) return e;
      const attrs = plans.attrs && e.attrs ? (plans.attrs(e.attrs) as Record<string, CedarValue>) : e.attrs;
      const tags = plans.tags && e.tags ? mapTags(e.tags, plans.tags) : e.tags;
      if (attrs === e.attrs && tags === e.tags) return e;
      return { ...e, attrs, ...(tags ? { tags } : {}) };
    },
    context(action, context) {
      const plan = contexts.get(action);
      return plan ? (plan(context) as Record<string, unknown>) : context;
    },
  };
}

/** Tags all share one declared type. */
function mapTags(tags: Record<string, CedarValue>, plan: Plan): Record<string, CedarValue> {
  let out: Record<string, CedarValue> | undefined;
  for (const k of Object.keys(tags)) {
    const x = plan(tags[k]);
    if (x !== tags[k]) (out ??= { ...tags })[k] = x as CedarValue;
  }
  return out ?? tags;
}
