import { cedar } from './cedar-wasm.ts';
import { partitionKey, type RequestAnchors } from './partition.ts';
import { safe, uidKey, type CompiledPolicySet } from './policy-set.ts';
import type { DecisionMemo } from './memo.ts';
import type { SchemaValues } from './schema-values.ts';
import { SlotPool } from './slot-pool.ts';
import { evaluateCompiled, type CompiledEvaluation } from './compiled/index.ts';
import type { CedarEntity, EngineDecision, EntityUid, EvaluationError, EvaluationRequest, PolicyInfo } from './types.ts';

/** Options of an evaluation. */
export interface EvaluateOptions {
  /**
   * Validate the request (types of principal, resource, context) against the schema. Default true.
   * When false no schema is given to Cedar: extension values (datetime, ...) must then use the
   * `{"__extn": ...}` form, and an ill-typed attribute surfaces as a policy error (a deny).
   */
  validateRequest?: boolean;
  /** Memoised answers for inputs seen before (see {@link DecisionMemo}). */
  memo?: DecisionMemo;
  /**
   * Compiled evaluation (`./compiled/`): the policies as JavaScript closures with Cedar's semantics,
   * checked against cedar-wasm by differential testing; cedar-wasm answers whatever they cannot
   * answer exactly. Applies when `validateRequest` is false. On unless `false`; an object sets
   * online verification (`verifySample`, `onMismatch`).
   */
  compiled?: boolean | CompiledEvaluation;
}

// INVARIANT: one pool per process for all policy sets, so wasm memory stays bounded however many
// sets are loaded over the process's life (reloads, candidates, tests).
const policyPool = new SlotPool('argus-policies-', 2048);
const schemaPool = new SlotPool('argus-schema-', 16);

/**
 * Decides one request against a compiled set. Never throws: any failure (cedar-wasm refusing the
 * call, an exception, a policy set that cannot be preparsed) is a deny carrying the error.
 * A `forbid` that errored (and so was skipped by Cedar) turns the answer into a deny.
 */
export function evaluate(set: CompiledPolicySet, request: EvaluationRequest, options: EvaluateOptions = {}): EngineDecision {
  if (options.memo) return options.memo.answer(set, request, options.validateRequest ?? true, () => evaluateNow(set, request, options));
  return evaluateNow(set, request, options);
}

function evaluateNow(set: CompiledPolicySet, given: EvaluationRequest, options: EvaluateOptions): EngineDecision {
  // Without the schema, values it would read as entities or extension values are escaped first
  // (with it, cedar-wasm reads them itself).
  const request = options.validateRequest === false && set.values ? withSchemaValues(set.values, given) : given;
  const anchors = requestAnchors(request);
  const enforced = decideWith(set, set.index, 'enforce', anchors, request, options);
  const observe = partitionKey(set.observeIndex, anchors);
  if (observe.buckets.length === 0) return enforced;
  const watched = decideWith(set, set.observeIndex, 'observe', anchors, request, options);
  const observed = watched.decision === 'deny' ? watched.determining : [];
  const observeErrors = watched.errors.map((e): EvaluationError => ({ ...e, code: e.code === 'forbid_errored' ? 'policy_error' : e.code }));
  return { ...enforced, observed, errors: [...enforced.errors, ...observeErrors] };
}

/** `request` with its entities' and context's unescaped values escaped as the schema declares them. */
function withSchemaValues(values: SchemaValues, request: EvaluationRequest): EvaluationRequest {
  let entities: CedarEntity[] | undefined;
  for (let i = 0; i < request.entities.length; i++) {
    const e = request.entities[i]!;
    const x = values.entity(e);
    if (x !== e) (entities ??= request.entities.slice())[i] = x;
  }
  const context = values.context(uidKey(request.action), request.context) as EvaluationRequest['context'];
  if (!entities && context === request.context) return request;
  return { ...request, entities: entities ?? request.entities, context };
}

function decideWith(
  set: CompiledPolicySet,
  index: CompiledPolicySet['index'],
  kind: 'enforce' | 'observe',
  anchors: RequestAnchors,
  request: EvaluationRequest,
  options: EvaluateOptions,
): EngineDecision {
  const { key, buckets } = partitionKey(index, anchors);
  const evaluated = buckets.reduce((n, b) => n + b.length, 0);
  if (evaluated === 0) return { decision: 'deny', determining: [], errors: [], evaluated: 0, observed: [], needsApproval: false };

  const compiled =
    options.validateRequest === false && options.compiled !== false
      ? options.compiled === true
        ? {}
        : (options.compiled ?? {})
      : undefined;
  const fast = compiled && evaluateCompiled(set, buckets, { ...request, entities: withActionHierarchy(set, request) }, compiled);
  const slot = fast ? '' : policyPool.acquire(`${set.version}\n${kind}\n${key}`, (slotId) => preparsePartition(set, slotId, buckets));
  const validateRequest = options.validateRequest ?? true;
  // Without request validation no schema is passed at all: entity and context parsing against the
  // schema is most of the cost of a call, and the policies were validated against it at load.
  const schemaSlot = validateRequest
    ? schemaPool.acquire(set.schemaHash, (slotId) => {
        const r = safe(() => cedar.preparseSchema(slotId, set.schema));
        return r.ok && r.value.type === 'success';
      })
    : null;
  if (slot === undefined || schemaSlot === undefined) {
    return failure(evaluated, { code: 'evaluation_failed', message: 'policy partition could not be prepared' });
  }

  const answer = fast
    ? { ok: true as const, value: fast }
    : safe(() =>
        cedar.statefulIsAuthorized({
          principal: request.principal,
          action: request.action,
          resource: request.resource,
          context: request.context,
          entities: schemaSlot === null ? withActionHierarchy(set, request) : request.entities,
          preparsedPolicySetId: slot,
          ...(schemaSlot !== null ? { preparsedSchemaName: schemaSlot, validateRequest: true } : {}),
        }),
      );
  if (!answer.ok) {
    return failure(evaluated, {
      code: 'engine_exception',
      message: answer.error instanceof Error ? answer.error.message : 'cedar-wasm threw',
    });
  }
  if (answer.value.type === 'failure') {
    return failure(evaluated, ...answer.value.errors.map((e): EvaluationError => ({ code: 'evaluation_failed', message: e.message })));
  }

  const { decision, diagnostics } = answer.value.response;
  const errors: EvaluationError[] = [];
  const erroredForbids: PolicyInfo[] = [];
  for (const e of diagnostics.errors) {
    const policy = set.policies.get(e.policyId);
    if (policy?.effect === 'forbid') {
      erroredForbids.push(policy);
      errors.push({ policyId: e.policyId, code: 'forbid_errored', message: e.error.message });
    } else {
      errors.push({ policyId: e.policyId, code: 'policy_error', message: e.error.message });
    }
  }
  // Cedar reports the determining policies as a set, in no stable order: sort them by id so the
  // same input always gives the same answer (responses, audit records, memoised answers).
  const determining = [...diagnostics.reason]
    .sort()
    .map((id) => set.policies.get(id))
    .filter((p): p is PolicyInfo => p !== undefined);
  if (erroredForbids.length > 0 && decision === 'allow') {
    return { decision: 'deny', determining: erroredForbids, errors, evaluated, observed: [], needsApproval: false };
  }
  // INVARIANT (strict reading): an approval gate cannot be bypassed by overlap. An allow (so no
  // forbid applied) with any satisfied `require_approval` permit is held, whatever else matched.
  const needsApproval = decision === 'allow' && determining.some((p) => p.enforcement === 'require_approval');
  return { decision, determining, errors, evaluated, observed: [], needsApproval };
}

/**
 * Without the schema Cedar knows action groups only from action entities: add, with their groups,
 * the request's action and every action the set names (scopes and conditions), once each.
 */
function withActionHierarchy(set: CompiledPolicySet, request: EvaluationRequest): EvaluationRequest['entities'] {
  const extra = actionEntitiesFor(set, request.action);
  if (extra.length === 0) return request.entities;
  const have = new Set(request.entities.map((e) => uidKey(e.uid)));
  const out = [...request.entities];
  for (const e of extra) {
    const key = uidKey(e.uid);
    if (!have.has(key)) {
      have.add(key);
      out.push(e);
    }
  }
  return out;
}

const namedActions = new WeakMap<CompiledPolicySet, CedarEntity[]>();

/**
 * The action entities (with their ancestor groups) Cedar needs when evaluating without the schema:
 * those of `action` and of every action the set names. Shared by `evaluate` and `explainRequest`.
 */
export function actionEntitiesFor(set: CompiledPolicySet, action: EntityUid): CedarEntity[] {
  let named = namedActions.get(set);
  if (!named) {
    named = [];
    for (const key of set.reads.actions) named.push(...(set.actionEntities.get(key) ?? []));
    namedActions.set(set, named);
  }
  const own = set.actionEntities.get(uidKey(action));
  return own ? [...own, ...named] : named;
}

function failure(evaluated: number, ...errors: EvaluationError[]): EngineDecision {
  return { decision: 'deny', determining: [], errors, evaluated, observed: [], needsApproval: false };
}

function preparsePartition(set: CompiledPolicySet, slotId: string, buckets: Array<readonly string[]>): boolean {
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  const templateLinks: Array<{ templateId: string; newId: string; values: Record<string, EntityUid> }> = [];
  const links = new Map(set.links.map((l) => [l.linkId, l]));
  for (const ids of buckets) {
    for (const id of ids) {
      const text = set.staticTexts.get(id);
      if (text !== undefined) {
        staticPolicies[id] = text;
        continue;
      }
      const link = links.get(id);
      if (link) {
        templates[link.templateId] = set.templateTexts.get(link.templateId)!;
        templateLinks.push({ templateId: link.templateId, newId: link.linkId, values: link.values as Record<string, EntityUid> });
      }
    }
  }
  const r = safe(() => cedar.preparsePolicySet(slotId, { staticPolicies, templates, templateLinks }));
  return r.ok && r.value.type === 'success';
}

/** Principal and resource keys with every ancestor reachable through `parents` in the entity slice. */
export function requestAnchors(request: EvaluationRequest): RequestAnchors {
  const parents = new Map<string, EntityUid[]>();
  for (const e of request.entities) parents.set(uidKey(e.uid), e.parents);
  return {
    action: uidKey(request.action),
    principalType: request.principal.type,
    resourceType: request.resource.type,
    principalKeys: closure(uidKey(request.principal), parents),
    resourceKeys: closure(uidKey(request.resource), parents),
  };
}

function closure(start: string, parents: ReadonlyMap<string, EntityUid[]>): string[] {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length > 0) {
    for (const p of parents.get(stack.pop()!) ?? []) {
      const k = uidKey(p);
      if (!seen.has(k)) {
        seen.add(k);
        stack.push(k);
      }
    }
  }
  return [...seen];
}

/**
 * The entities a request reaches: principal and resource with their ancestors, plus every entity
 * referenced from the context (and their ancestors). Duplicate uids keep the first occurrence.
 * Policy-independent; the decision point uses `sliceFor`, which also adds entities a policy names
 * and reads, and leaves out those no policy can read.
 */
export function sliceEntities(all: ReadonlyMap<string, CedarEntity>, roots: readonly EntityUid[], context: unknown = {}): CedarEntity[] {
  const out = new Map<string, CedarEntity>();
  const stack = [...roots.map(uidKey), ...referencedEntities(context).map(uidKey)];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (out.has(key)) continue;
    const entity = all.get(key);
    if (!entity) continue;
    out.set(key, entity);
    for (const p of entity.parents) stack.push(uidKey(p));
    for (const ref of referencedEntities(entity.attrs)) stack.push(uidKey(ref));
  }
  return [...out.values()];
}

/**
 * The entities Cedar must be given to decide a request exactly as it would given `all`, for this
 * policy set (see `PolicyReads`, worked out from the policies' JSON form):
 * - the principal, the resource and every entity literal a policy or link names;
 * - every entity a policy can dereference (read attributes or tags of, or ask the ancestors of):
 *   those found under a dereferenced attribute/field name in a passed entity, a tag value when a
 *   `getTag` result is dereferenced, or a context key some policy reads (written `{__entity: ...}`
 *   or, as Cedar reads it where the schema declares an entity, `{ type, id }`);
 * - the ancestors of each, as far as the hierarchy needs them (an ancestor without parents of its
 *   own is implied by its child's `parents` edge, and Cedar accepts parents it was not given);
 * - when a dereference cannot be bounded (`reads.unbounded`), every entity reachable from the above.
 * Action entities met on the way come from the schema (`actionEntities`).
 * With `pruneAttributes` (only for requests not checked against the schema, which may require
 * them), attributes no policy can read are left out, and tags when no policy uses tags.
 * Each entity left out saves Cedar the parse and hierarchy work (a quarter of a call each here).
 */
export function sliceFor(
  set: CompiledPolicySet,
  all: ReadonlyMap<string, CedarEntity>,
  roots: readonly EntityUid[],
  context: Record<string, unknown> = {},
  options: { pruneAttributes?: boolean } = {},
): CedarEntity[] {
  const reads = set.reads;
  const everything = reads.unbounded;
  const out = new Map<string, CedarEntity>();
  const walked = new Set<string>();
  const stack: Array<{ key: string; forced: boolean }> = [];
  const follow = (uid: EntityUid, dereferenced: boolean) => {
    if (dereferenced || everything) stack.push({ key: uidKey(uid), forced: true });
  };
  for (const r of roots) stack.push({ key: uidKey(r), forced: true });
  for (const key of reads.literals) stack.push({ key, forced: true });
  for (const name of Object.keys(context)) {
    if (reads.contextWhole || reads.contextKeys.has(name))
      refsIn(context[name], name, (ref, under) => follow(ref, under !== undefined && reads.dereferenced.has(under)));
  }
  const actions = new Map<string, CedarEntity>();
  while (stack.length > 0) {
    const { key, forced } = stack.pop()!;
    const entity = all.get(key);
    if (!entity) {
      for (const a of set.actionEntities.get(key) ?? []) actions.set(uidKey(a.uid), a);
      continue;
    }
    if (forced ? walked.has(key) : out.has(key)) continue;
    // An ancestor only matters to the hierarchy when it has parents of its own.
    if (!forced && entity.parents.length === 0) continue;
    out.set(key, entity);
    for (const p of entity.parents) stack.push({ key: uidKey(p), forced: everything });
    if (!forced) continue;
    walked.add(key);
    for (const name of Object.keys(entity.attrs))
      refsIn(entity.attrs[name], name, (ref, under) => follow(ref, under !== undefined && reads.dereferenced.has(under)));
    if (reads.tags && entity.tags) {
      for (const value of Object.values(entity.tags)) {
        refsIn(value, undefined, (ref, under) =>
          follow(ref, reads.tagsDereferenced || (under !== undefined && reads.dereferenced.has(under))),
        );
      }
    }
  }
  for (const [key, a] of actions) if (!out.has(key)) out.set(key, a);
  const slice = [...out.values()];
  if (!options.pruneAttributes || reads.opaque) return slice;
  return slice.map((entity) => {
    const attrs = pick(entity.attrs, reads.attributeNames);
    const dropTags = !reads.tags && entity.tags !== undefined;
    if (attrs === entity.attrs && !dropTags) return entity;
    const { tags: _tags, ...rest } = entity;
    return dropTags ? { ...rest, attrs } : { ...entity, attrs };
  });
}

/**
 * The context without the top-level keys no policy reads (`reads.contextKeys`), unless some policy
 * uses the context as a whole. Only for requests that are not checked against the schema (which
 * may require the keys).
 */
export function contextFor<T extends Record<string, unknown>>(set: CompiledPolicySet, context: T): T {
  if (set.reads.contextWhole) return context;
  return pick(context, set.reads.contextKeys);
}

/**
 * Calls `found` for every entity reference inside a Cedar value, with the record key it sits under
 * (sets are transparent; `key` for a value that is not inside a record).
 */
function refsIn(value: unknown, key: string | undefined, found: (ref: EntityUid, under: string | undefined) => void): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) refsIn(v, key, found);
    return;
  }
  const rec = value as Record<string, unknown>;
  const e = rec.__entity as EntityUid | null | undefined;
  if (e !== undefined) {
    // A malformed reference (`{"__entity": null}`) is no entity: Cedar refuses the request itself.
    if (e !== null && typeof e === 'object' && typeof e.type === 'string' && typeof e.id === 'string') found(e, key);
    return;
  }
  if (rec.__extn !== undefined) return;
  // `{ type, id }` is an entity where the schema declares one (`schema-values.ts`): followed as one
  // (at worst the slice holds one entity more than needed).
  if (typeof rec.type === 'string' && typeof rec.id === 'string') found({ type: rec.type, id: rec.id }, key);
  for (const k of Object.keys(rec)) refsIn(rec[k], k, found);
}

/** `record` with only the keys in `names`; the same object when nothing is dropped. */
function pick<T extends Record<string, unknown>>(record: T, names: ReadonlySet<string>): T {
  let out: Record<string, unknown> | undefined;
  for (const key in record) {
    if (names.has(key)) continue;
    out ??= { ...record };
    delete out[key];
  }
  return (out ?? record) as T;
}

/** Every `{__entity: {type, id}}` found in a Cedar value. */
export function referencedEntities(value: unknown): EntityUid[] {
  const found: EntityUid[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    const rec = v as Record<string, unknown>;
    const e = rec.__entity as EntityUid | undefined;
    if (e && typeof e.type === 'string' && typeof e.id === 'string') found.push(e);
    else stack.push(...Object.values(rec));
  }
  return found;
}
