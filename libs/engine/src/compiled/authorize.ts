import { cedar } from '../cedar-wasm.ts';
import { compilePolicy, UnsupportedPolicy, type Env, type PolicyFn, type SlotValues } from './compile.ts';
import { EntityStore } from './entity-store.ts';
import { Bail, CedarEvalError, entFromUid, fromJson, Rec } from './values.ts';
import type { EntityUid, TemplateLinkInput } from '../types.ts';

/** What the compiler needs of a policy set (a `CompiledPolicySet` has it all). */
export interface PolicyTexts {
  readonly staticTexts: ReadonlyMap<string, string>;
  readonly templateTexts: ReadonlyMap<string, string>;
  readonly links: readonly TemplateLinkInput[];
  /**
   * The policies' JSON forms when the caller already has them (a `CompiledPolicySet` does), by
   * static policy or template id; a static policy's entry is taken out once compiled.
   */
  readonly policyJson?: Map<string, unknown>;
}

/** A request in cedar-wasm's JSON form, entities included (action groups too, when there is no schema). */
export interface CedarRequest {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: unknown;
  entities: readonly unknown[];
}

/** The answer in the shape of cedar-wasm's `isAuthorized` success, so both paths share what follows. */
export interface CedarLikeAnswer {
  type: 'success';
  response: {
    decision: 'allow' | 'deny';
    diagnostics: { reason: string[]; errors: Array<{ policyId: string; error: { message: string } }> };
  };
}

interface Compiled {
  effect: 'permit' | 'forbid';
  fn: PolicyFn;
}

/**
 * The compiled policies of one set, compiled on first use. A policy the compiler does not support
 * is remembered as such (`null`) and every request that meets it goes to cedar-wasm.
 */
export class CompiledPolicies {
  private readonly compiled = new Map<string, Compiled | null>();
  private readonly links: ReadonlyMap<string, TemplateLinkInput>;
  /** Set when online verification found a mismatch: the set is back on cedar-wasm. */
  disabled = false;
  /** Why each unsupported policy is: for diagnostics and tests. */
  readonly unsupported = new Map<string, string>();

  constructor(private readonly texts: PolicyTexts) {
    this.links = new Map(texts.links.map((l) => [l.linkId, l]));
  }

  /** The compiled policy, or `null` when it is unsupported (or unknown). */
  policy(id: string): Compiled | null {
    let c = this.compiled.get(id);
    if (c !== undefined) return c;
    c = this.compile(id);
    this.compiled.set(id, c);
    return c;
  }

  private compile(id: string): Compiled | null {
    const text = this.texts.staticTexts.get(id);
    const link = text === undefined ? this.links.get(id) : undefined;
    const source = text ?? (link ? this.texts.templateTexts.get(link.templateId) : undefined);
    if (source === undefined) return this.refuse(id, 'unknown policy');
    try {
      const est = this.json(text !== undefined ? id : link!.templateId, text !== undefined, source);
      if (est === undefined) return this.refuse(id, 'policyToJson failed');
      const effect = est.effect;
      if (effect !== 'permit' && effect !== 'forbid') return this.refuse(id, 'unknown effect');
      return { effect, fn: compilePolicy(est, (link?.values ?? {}) as SlotValues) };
    } catch (e) {
      return this.refuse(id, e instanceof UnsupportedPolicy ? e.message : 'compilation failed');
    }
  }

  /** The JSON form of a static policy or a template: the one the set was loaded with, else cedar-wasm's. */
  private json(id: string, isStatic: boolean, source: string): Record<string, unknown> | undefined {
    const known = this.texts.policyJson?.get(id);
    if (known !== undefined) {
      if (isStatic) this.texts.policyJson!.delete(id);
      return known as Record<string, unknown>;
    }
    const json = isStatic ? cedar.policyToJson(source) : cedar.templateToJson(source);
    return json.type === 'success' ? (json.json as unknown as Record<string, unknown>) : undefined;
  }

  private refuse(id: string, why: string): null {
    this.unsupported.set(id, why);
    return null;
  }

  /**
   * Cedar's authorization over the policies `ids` (each once), or `undefined` when the compiled
   * evaluator cannot answer exactly — an unsupported policy, an input it does not read, a Long it
   * cannot represent: then cedar-wasm must answer.
   */
  authorize(ids: Iterable<string>, request: CedarRequest): CedarLikeAnswer | undefined {
    if (this.disabled) return undefined;
    const policies: Array<[string, Compiled]> = [];
    for (const id of ids) {
      const c = this.policy(id);
      if (c === null) return undefined;
      policies.push([id, c]);
    }
    let env: Env;
    try {
      const context = fromJson(request.context);
      if (!(context instanceof Rec)) return undefined;
      env = {
        principal: entFromUid(request.principal),
        action: entFromUid(request.action),
        resource: entFromUid(request.resource),
        context,
        store: new EntityStore(request.entities),
      };
    } catch {
      return undefined;
    }
    const forbids: string[] = [];
    const permits: string[] = [];
    const errors: CedarLikeAnswer['response']['diagnostics']['errors'] = [];
    for (const [id, c] of policies) {
      try {
        if (c.fn(env)) (c.effect === 'forbid' ? forbids : permits).push(id);
      } catch (e) {
        if (e instanceof CedarEvalError) errors.push({ policyId: id, error: { message: e.message } });
        else if (e instanceof Bail) return undefined;
        // Anything else is a fault of this evaluator: cedar-wasm answers instead.
        else return undefined;
      }
    }
    const decision = forbids.length > 0 ? 'deny' : permits.length > 0 ? 'allow' : 'deny';
    return { type: 'success', response: { decision, diagnostics: { reason: forbids.length > 0 ? forbids : permits, errors } } };
  }
}

const bySet = new WeakMap<PolicyTexts, CompiledPolicies>();

/** The compiled form of a policy set, built once per set object. */
export function compiledPolicies(set: PolicyTexts): CompiledPolicies {
  let c = bySet.get(set);
  if (!c) bySet.set(set, (c = new CompiledPolicies(set)));
  return c;
}
