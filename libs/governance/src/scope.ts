/**
 * Delegation scopes: which actions on which resources a grant conveys.
 *
 * A scope is the cross product `actions × resources`: it allows an action on a resource when one
 * action pattern matches the action AND one resource pattern matches the resource.
 *
 * Pattern semantics (exact):
 * - An **action pattern** is an action name in which `*` matches any run of characters, including
 *   none and including `:`. `tool:call` matches only `tool:call`; `tool:*` matches `tool:call` and
 *   `tool:`; `*` matches every action.
 * - A **resource pattern** is either `*` (every resource of every type) or `Type::"glob"`. The type
 *   is compared exactly, after dropping an optional `Argus::` prefix (`Argus::Tool` = `Tool`). In the
 *   quoted glob, `*` matches any run of characters (including none, including `.` and `/`); `\*`,
 *   `\"` and `\\` stand for a literal `*`, `"` and `\`. So `Tool::"crm.*"` matches `Tool::"crm.search"`
 *   and `Tool::"crm."` but not `Tool::"crm"` nor `McpServer::"crm.x"`; `Model::"gpt-*"` matches
 *   `Model::"gpt-4o"`; `Tool::"*"` matches every tool. Patterns never match through the entity
 *   hierarchy: `McpServer::"github"` does not cover the tools of that server.
 * - A malformed pattern matches nothing and covers nothing (fail closed).
 *
 * `isSubset(child, parent)` is sound and conservative: when it answers true, every (action,
 * resource) the child allows is allowed by the parent. Each child pattern must be covered by a
 * single parent pattern (glob inclusion, decided exactly for `*`-only globs); a scope that allows
 * nothing (no actions or no resources) is a subset of every scope.
 */
import type { EntityRef } from '@argus/contracts';
import { bareType, parseUid } from './uid.ts';

/** What a grant conveys: action patterns × resource patterns. */
export interface Scope {
  /** Action patterns, e.g. `tool:call`, `tool:*`, `*`. */
  actions: string[];
  /** Resource patterns, e.g. `Tool::"crm.*"`, `Model::"gpt-*"`, `*`. */
  resources: string[];
}

/** One token of a compiled glob: a literal character, or the wildcard. */
type GlobToken = string | typeof STAR;
const STAR: unique symbol = Symbol('star');

/** A compiled resource pattern. `type: undefined` means any type (the bare `*` pattern). */
interface ResourcePattern {
  type: string | undefined;
  glob: GlobToken[];
}

const TYPE_RE = /^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::"(.*)"$/s;

/** Compiles an action pattern (no escapes: action names never contain `*`). */
function compileAction(pattern: string): GlobToken[] {
  return [...pattern].map((c) => (c === '*' ? STAR : c));
}

/** Compiles a quoted glob body, resolving `\*`, `\"`, `\\`. Undefined when malformed. */
function compileGlobBody(body: string): GlobToken[] | undefined {
  const out: GlobToken[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      if (next !== '*' && next !== '"' && next !== '\\') return undefined;
      out.push(next);
      i++;
    } else if (c === '"') {
      return undefined;
    } else {
      out.push(c === '*' ? STAR : c);
    }
  }
  return out;
}

const resourceCache = new Map<string, ResourcePattern | null>();

/** Compiles a resource pattern; null when malformed. Memoized (patterns repeat across decisions). */
function compileResource(pattern: string): ResourcePattern | null {
  const cached = resourceCache.get(pattern);
  if (cached !== undefined) return cached;
  let compiled: ResourcePattern | null = null;
  if (pattern === '*') {
    compiled = { type: undefined, glob: [STAR] };
  } else {
    const m = TYPE_RE.exec(pattern);
    const glob = m ? compileGlobBody(m[2]!) : undefined;
    if (m && glob) compiled = { type: bareType(m[1]!), glob };
  }
  if (resourceCache.size > 10_000) resourceCache.clear();
  resourceCache.set(pattern, compiled);
  return compiled;
}

/** True when `pattern` is a well-formed resource pattern. */
export function isValidResourcePattern(pattern: string): boolean {
  return compileResource(pattern) !== null;
}

/** True when `pattern` is a well-formed action pattern (non-empty, no whitespace or quotes). */
export function isValidActionPattern(pattern: string): boolean {
  return pattern.length > 0 && !/[\s"]/.test(pattern);
}

/**
 * Glob matching where `pattern` tokens are literals or STAR and `subject` tokens are literals or
 * (when deciding inclusion) STAR standing for "any string". A pattern STAR matches any run of
 * subject tokens, subject STARs included; a pattern literal matches only the equal literal.
 * Iterative two-pointer algorithm with backtracking to the last pattern star: O(n·m) worst case.
 */
function globMatch(pattern: readonly GlobToken[], subject: readonly GlobToken[]): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    if (p < pattern.length && pattern[p] !== STAR && pattern[p] === subject[s]) {
      p++;
      s++;
    } else if (p < pattern.length && pattern[p] === STAR) {
      starP = p++;
      starS = s;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** True when action pattern `pattern` matches the concrete action name. */
export function actionMatches(pattern: string, action: string): boolean {
  return globMatch(compileAction(pattern), [...action]);
}

/** True when resource pattern `pattern` matches the concrete resource. */
export function resourceMatches(pattern: string, resource: EntityRef): boolean {
  const compiled = compileResource(pattern);
  if (!compiled) return false;
  if (compiled.type !== undefined && compiled.type !== bareType(resource.type)) return false;
  return globMatch(compiled.glob, [...resource.id]);
}

/** True when every action the `child` action pattern matches is matched by `parent`. */
export function actionPatternCovers(parent: string, child: string): boolean {
  return globMatch(compileAction(parent), compileAction(child));
}

/** True when every resource the `child` resource pattern matches is matched by `parent`. */
export function resourcePatternCovers(parent: string, child: string): boolean {
  const p = compileResource(parent);
  const c = compileResource(child);
  if (!p || !c) return false;
  if (p.type !== undefined && p.type !== c.type) return false;
  return globMatch(p.glob, c.glob);
}

/** True when the scope allows nothing at all (no action or no resource pattern). */
export function isEmptyScope(scope: Scope): boolean {
  return scope.actions.length === 0 || scope.resources.length === 0;
}

/**
 * True when `child` allows nothing that `parent` does not (see the module comment for the exact,
 * conservative rule). Used to refuse a sub-delegation that widens what its grantor holds.
 */
export function isSubset(child: Scope, parent: Scope): boolean {
  if (isEmptyScope(child)) return true;
  return (
    child.actions.every((c) => parent.actions.some((p) => actionPatternCovers(p, c))) &&
    child.resources.every((c) => parent.resources.some((p) => resourcePatternCovers(p, c)))
  );
}

/**
 * The child patterns that `parent` does not cover, for error messages that say what widened.
 * Empty exactly when `isSubset(child, parent)`.
 */
export function widenedPatterns(child: Scope, parent: Scope): { actions: string[]; resources: string[] } {
  if (isEmptyScope(child)) return { actions: [], resources: [] };
  return {
    actions: child.actions.filter((c) => !parent.actions.some((p) => actionPatternCovers(p, c))),
    resources: child.resources.filter((c) => !parent.resources.some((p) => resourcePatternCovers(p, c))),
  };
}

/**
 * True when `scope` allows `action` on `resource`. `resource` is a reference or a uid string
 * (`Tool::"crm.search"`); a malformed uid string is allowed nothing.
 */
export function allows(scope: Scope, action: string, resource: EntityRef | string): boolean {
  const ref = typeof resource === 'string' ? parseUid(resource) : resource;
  if (!ref) return false;
  return scope.actions.some((p) => actionMatches(p, action)) && scope.resources.some((p) => resourceMatches(p, ref));
}
