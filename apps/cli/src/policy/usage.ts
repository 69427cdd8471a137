/**
 * `context.usage` in the toolkit: the counts the server's quota counters would show a request
 * (`libs/apdp/src/effects/decision-effects.ts`, `usage`): the built-in `calls_last_minute` and
 * `calls_last_hour`, and one count per named quota that applies, each the number of allowed calls
 * in its window before this one. A suite cannot know the server's quota rules, so the default is
 * a fresh server whose rules are the names the schema's `usage` declares: every one at 0.
 */
import { resolvedSchemaJson } from '@argus/engine';

/** The counts `context.usage` holds: counter name → allowed calls before this one. */
export type Usage = Record<string, number>;

/** The counters the server fills for every request while quotas are on (`effects.quotas.enabled`). */
export const BUILTIN_USAGE_NAMES = ['calls_last_minute', 'calls_last_hour'] as const;

interface JsonType {
  type: string;
  name?: string;
  attributes?: Record<string, JsonType>;
}

type Namespaces = Record<
  string,
  { commonTypes?: Record<string, JsonType>; actions?: Record<string, { appliesTo?: { context?: JsonType } }> }
>;

/**
 * The attributes of `context.usage` the schema declares, in any action's context (the counters a
 * policy can read); empty when the schema declares no `usage` or cannot be read.
 */
export function declaredUsageNames(schemaText: string): string[] {
  const namespaces = resolvedSchemaJson(schemaText) as Namespaces | undefined;
  if (!namespaces) return [];
  const resolve = (t: JsonType | undefined, ns: string, depth = 0): JsonType | undefined => {
    if (!t || depth > 16 || t.type === 'Record') return t;
    const name = t.type === 'EntityOrCommon' ? t.name : t.type;
    if (!name) return undefined;
    const cut = name.lastIndexOf('::');
    const [space, bare] = cut < 0 ? [ns, name] : [name.slice(0, cut), name.slice(cut + 2)];
    return resolve(namespaces[space]?.commonTypes?.[bare], space, depth + 1);
  };
  const names = new Set<string>();
  for (const [ns, def] of Object.entries(namespaces)) {
    for (const action of Object.values(def.actions ?? {})) {
      const usage = resolve(resolve(action.appliesTo?.context, ns)?.attributes?.usage, ns);
      for (const name of Object.keys(usage?.attributes ?? {})) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * What a fresh server shows the first call: the built-in counters and every counter the schema
 * declares, at 0. So a quota written fail closed (`unless { context has usage && ... < N }`) allows
 * a first call in a test as it does on the server.
 */
export function firstCallUsage(schemaText: string): Usage {
  return Object.fromEntries([...new Set([...BUILTIN_USAGE_NAMES, ...declaredUsageNames(schemaText)])].map((name) => [name, 0]));
}

/**
 * The `context.usage` of one case: the case's `usage` as given (only those counters; `null`:
 * none at all, as when the counters cannot be read), else the suite's, else `fallback`.
 */
export function caseUsage(caseUsage: Usage | null | undefined, suiteUsage: Usage | undefined, fallback: Usage): Usage | undefined {
  if (caseUsage === null) return undefined;
  return caseUsage ?? suiteUsage ?? fallback;
}
