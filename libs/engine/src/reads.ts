/**
 * What a policy set can read, worked out from the STRUCTURE of its policies (cedar-wasm's JSON
 * form, the EST), never from their text. The decision path, the shadow evaluator, explain, the
 * console playground and the decision memo all hand Cedar what these reads allow: only the
 * entities, attributes, tags and context keys some policy can reach. Everything here errs on the
 * side of keeping more: a form the analysis does not know keeps everything.
 *
 * INVARIANT: for any request, evaluating on `sliceFor` + `contextFor` (built from these reads)
 * decides exactly as Cedar given every entity and the whole context (see testing/drt.ts).
 */
import { uidKey } from './policy-set.ts';
import type { EntityUid, TemplateLinkInput } from './types.ts';

/** The reads of a whole policy set. */
export interface PolicyReads {
  /** Every attribute or record field name a policy reads with `.`, `has` or `["..."]` (Cedar names are static). */
  readonly attributeNames: ReadonlySet<string>;
  /**
   * Names N such that a value reached as `<path>.N` is dereferenced (its attributes, tags or
   * ancestors are read), where `<path>` starts at a variable, an entity literal or a slot: an
   * entity found under a record key N (in an entity's attributes, a tag value or the context) must
   * be passed to Cedar.
   */
  readonly dereferenced: ReadonlySet<string>;
  /** Whether some policy uses `getTag`/`hasTag`: then entities keep their tags. */
  readonly tags: boolean;
  /** Whether a `getTag` result is dereferenced: then entities referenced from tag values are passed. */
  readonly tagsDereferenced: boolean;
  /** Uid keys of every entity literal, in scopes, conditions and template-link values: passed with their ancestors. */
  readonly literals: ReadonlySet<string>;
  /** Uid keys of every action entity the set names (scopes and conditions). */
  readonly actions: ReadonlySet<string>;
  /** Top-level context keys read as `context.k` / `context has k`. */
  readonly contextKeys: ReadonlySet<string>;
  /** Whether the context is used as a whole value (`context == {...}`, `if … then context …`): no key may be left out. */
  readonly contextWhole: boolean;
  /** Whether some policy can read `context.now` (Argus's clock). */
  readonly now: boolean;
  /**
   * A dereference the analysis cannot bound (a record literal's field, a function result, ...):
   * then every entity reachable from the request, the context and the literals is passed.
   */
  readonly unbounded: boolean;
  /** A JSON form the analysis does not know: nothing at all is left out. */
  readonly opaque: boolean;
}

type Node = Record<string, unknown>;

/** Mutable accumulator of the analysis. */
class Reads {
  attributeNames = new Set<string>();
  dereferenced = new Set<string>();
  tags = false;
  tagsDereferenced = false;
  literals = new Set<string>();
  actions = new Set<string>();
  contextKeys = new Set<string>();
  contextWhole = false;
  unbounded = false;
  opaque = false;

  literal(value: unknown): void {
    if (!isEntityUid(value)) {
      this.opaque = true;
      return;
    }
    const key = uidKey(value);
    this.literals.add(key);
    if (value.type === 'Action' || value.type.endsWith('::Action')) this.actions.add(key);
  }

  /** Every `__entity` inside a literal value (sets and records included). */
  values(value: unknown): void {
    const stack = [value];
    while (stack.length > 0) {
      const v = stack.pop();
      if (v === null || typeof v !== 'object') continue;
      if (Array.isArray(v)) stack.push(...v);
      else if ('__entity' in v) this.literal((v as { __entity: unknown }).__entity);
      else stack.push(...Object.values(v));
    }
  }

  scope(scope: unknown, isAction: boolean): void {
    if (scope === null || typeof scope !== 'object') return void (this.opaque = true);
    const s = scope as { op?: unknown; entity?: unknown; entities?: unknown; in?: unknown };
    if (!['All', '==', 'in', 'is'].includes(String(s.op))) this.opaque = true;
    const named: unknown[] = [];
    if (s.entity !== undefined) named.push(s.entity);
    if (Array.isArray(s.entities)) named.push(...s.entities);
    else if (s.entities !== undefined) this.opaque = true;
    if (s.in !== undefined) {
      const inner = s.in as { entity?: unknown };
      if (inner.entity !== undefined) named.push(inner.entity);
    }
    for (const e of named) {
      this.literal(e);
      if (isAction && isEntityUid(e)) this.actions.add(uidKey(e));
    }
  }

  /** Walks an expression. `target`: the expression's value is read with `.`/`has` right away. */
  expr(e: unknown, target = false): void {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return void (this.opaque = true);
    const keys = Object.keys(e);
    if (keys.length !== 1) return void (this.opaque = true);
    const op = keys[0]!;
    const body = (e as Node)[op];
    const binary = (): { left: unknown; right: unknown } => {
      const b = body as { left?: unknown; right?: unknown } | null;
      if (b === null || typeof b !== 'object' || b.left === undefined || b.right === undefined) {
        this.opaque = true;
        return { left: { Value: null }, right: { Value: null } };
      }
      return { left: b.left, right: b.right };
    };
    switch (op) {
      case 'Value':
        return this.values(body);
      case 'Var':
        if (!['principal', 'action', 'resource', 'context'].includes(String(body))) this.opaque = true;
        if (body === 'context' && !target) this.contextWhole = true;
        return;
      case 'Slot':
        return;
      case '!':
      case 'neg':
      case 'isEmpty': {
        const arg = (body as { arg?: unknown } | null)?.arg;
        return arg === undefined ? void (this.opaque = true) : this.expr(arg);
      }
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=':
      case '&&':
      case '||':
      case '+':
      case '-':
      case '*':
      case 'contains':
      case 'containsAll':
      case 'containsAny': {
        const { left, right } = binary();
        this.expr(left);
        return this.expr(right);
      }
      case 'in': {
        const { left, right } = binary();
        this.deref(left);
        this.expr(left);
        return this.expr(right);
      }
      case 'getTag':
      case 'hasTag': {
        const { left, right } = binary();
        this.tags = true;
        this.deref(left);
        this.expr(left);
        return this.expr(right);
      }
      case '.':
      case 'has': {
        const b = body as { left?: unknown; attr?: unknown } | null;
        const attrs =
          typeof b?.attr === 'string'
            ? [b.attr]
            : Array.isArray(b?.attr) && b.attr.every((a) => typeof a === 'string')
              ? (b.attr as string[])
              : undefined;
        if (!b || b.left === undefined || !attrs || attrs.length === 0) return void (this.opaque = true);
        for (const a of attrs) this.attributeNames.add(a);
        const isContext = isVar(b.left, 'context');
        if (isContext) this.contextKeys.add(attrs[0]!);
        else this.deref(b.left);
        // `e has a.b.c` reads `e.a` and `e.a.b` as well: each is dereferenced in turn.
        for (let i = 0; i < attrs.length - 1; i++) {
          if (isPath(b.left)) this.dereferenced.add(attrs[i]!);
          else this.unbounded = true;
        }
        return this.expr(b.left, true);
      }
      case 'is': {
        const b = body as { left?: unknown; entity_type?: unknown; in?: unknown } | null;
        if (!b || b.left === undefined || typeof b.entity_type !== 'string') return void (this.opaque = true);
        if (b.in !== undefined) {
          this.deref(b.left);
          this.expr(b.in);
        }
        return this.expr(b.left);
      }
      case 'like': {
        const b = body as { left?: unknown } | null;
        return b?.left === undefined ? void (this.opaque = true) : this.expr(b.left);
      }
      case 'if-then-else': {
        const b = body as { if?: unknown; then?: unknown; else?: unknown } | null;
        if (!b || b.if === undefined || b.then === undefined || b.else === undefined) return void (this.opaque = true);
        // The context chosen by a conditional is a whole value: `target` does not carry over.
        this.expr(b.if);
        this.expr(b.then);
        return this.expr(b.else);
      }
      case 'Set':
        if (!Array.isArray(body)) return void (this.opaque = true);
        for (const x of body) this.expr(x);
        return;
      case 'Record':
        if (body === null || typeof body !== 'object' || Array.isArray(body)) return void (this.opaque = true);
        for (const x of Object.values(body)) this.expr(x);
        return;
      default:
        // Extension functions and methods (`ip`, `decimal`, `isInRange`, `offset`, ...): `{name: [args]}`.
        // They take and return no entity, so only their arguments matter.
        if (!Array.isArray(body) || !/^[A-Za-z_][\w:]*$/.test(op) || op === 'Unknown') return void (this.opaque = true);
        for (const x of body) this.expr(x);
        return;
    }
  }

  /** `target`'s attributes, tags or ancestors are read: record what must be passed for that. */
  deref(target: unknown): void {
    if (target === null || typeof target !== 'object') return void (this.unbounded = true);
    const t = target as Node;
    if ('Var' in t || 'Slot' in t) return;
    if ('Value' in t) {
      if (!isEntityUid((t.Value as { __entity?: unknown } | null)?.__entity)) this.unbounded = true;
      return;
    }
    if ('.' in t) {
      const b = t['.'] as { left?: unknown; attr?: unknown };
      if (isPath(b.left) && typeof b.attr === 'string') this.dereferenced.add(b.attr);
      else this.unbounded = true;
      return;
    }
    if ('getTag' in t) {
      const b = t.getTag as { left?: unknown };
      if (isPath(b.left)) this.tagsDereferenced = true;
      else this.unbounded = true;
      return;
    }
    if ('if-then-else' in t) {
      const b = t['if-then-else'] as { then?: unknown; else?: unknown };
      this.deref(b.then);
      this.deref(b.else);
      return;
    }
    this.unbounded = true;
  }
}

function isVar(e: unknown, name: string): boolean {
  return e !== null && typeof e === 'object' && (e as Node).Var === name;
}

/**
 * Whether `e` reaches its value from a variable, an entity literal or a slot through attributes,
 * tags and conditionals only: then the slicer, which follows the same edges, finds it.
 */
function isPath(e: unknown): boolean {
  if (e === null || typeof e !== 'object') return false;
  const t = e as Node;
  if ('Var' in t || 'Slot' in t) return true;
  if ('Value' in t) return isEntityUid((t.Value as { __entity?: unknown } | null)?.__entity);
  if ('.' in t) return isPath((t['.'] as { left?: unknown }).left);
  if ('getTag' in t) return isPath((t.getTag as { left?: unknown }).left);
  if ('if-then-else' in t) {
    const b = t['if-then-else'] as { then?: unknown; else?: unknown };
    return isPath(b.then) && isPath(b.else);
  }
  return false;
}

function isEntityUid(v: unknown): v is EntityUid {
  return v !== null && typeof v === 'object' && typeof (v as EntityUid).type === 'string' && typeof (v as EntityUid).id === 'string';
}

/** One policy or template in JSON form. */
export interface EstPolicy {
  principal?: unknown;
  action?: unknown;
  resource?: unknown;
  conditions?: unknown;
}

/**
 * The reads of a set: every policy and template (their JSON forms) and every template link's
 * slot values (entity literals like any other).
 */
export function analyseReads(policies: readonly EstPolicy[], links: readonly TemplateLinkInput[] = []): PolicyReads {
  const r = new Reads();
  for (const p of policies) {
    r.scope(p.principal, false);
    r.scope(p.action, true);
    r.scope(p.resource, false);
    if (!Array.isArray(p.conditions)) {
      r.opaque = true;
      continue;
    }
    for (const c of p.conditions) {
      const body = (c as { body?: unknown } | null)?.body;
      if (body === undefined) r.opaque = true;
      else r.expr(body);
    }
  }
  for (const link of links) for (const v of Object.values(link.values)) if (v) r.literal(v);
  const contextWhole = r.contextWhole || r.opaque;
  return Object.freeze({
    attributeNames: r.attributeNames,
    dereferenced: r.dereferenced,
    tags: r.tags || r.opaque,
    tagsDereferenced: r.tagsDereferenced,
    literals: r.literals,
    actions: r.actions,
    contextKeys: r.contextKeys,
    contextWhole,
    now: contextWhole || r.contextKeys.has('now'),
    unbounded: r.unbounded || r.opaque,
    opaque: r.opaque,
  });
}
