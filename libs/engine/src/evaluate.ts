import './wasm-guard.ts';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { partitionKey, type RequestAnchors } from './partition.ts';
import { safe, uidKey, type CompiledPolicySet } from './policy-set.ts';
import type { DecisionMemo } from './memo.ts';
import { SlotPool } from './slot-pool.ts';
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

function evaluateNow(set: CompiledPolicySet, request: EvaluationRequest, options: EvaluateOptions): EngineDecision {
  const anchors = requestAnchors(request);
  const enforced = decideWith(set, set.index, 'enforce', anchors, request, options);
  const observe = partitionKey(set.observeIndex, anchors);
  if (observe.buckets.length === 0) return enforced;
  const watched = decideWith(set, set.observeIndex, 'observe', anchors, request, options);
  const observed = watched.decision === 'deny' ? watched.determining : [];
  const observeErrors = watched.errors.map((e): EvaluationError => ({ ...e, code: e.code === 'forbid_errored' ? 'policy_error' : e.code }));
  return { ...enforced, observed, errors: [...enforced.errors, ...observeErrors] };
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

  const slot = policyPool.acquire(`${set.version}\n${kind}\n${key}`, (slotId) => preparsePartition(set, slotId, buckets));
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

  const answer = safe(() =>
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
    return failure(evaluated, { code: 'engine_exception', message: answer.error instanceof Error ? answer.error.message : 'cedar-wasm threw' });
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
  const determining = [...diagnostics.reason].sort().map((id) => set.policies.get(id)).filter((p): p is PolicyInfo => p !== undefined);
  if (erroredForbids.length > 0 && decision === 'allow') {
    return { decision: 'deny', determining: erroredForbids, errors, evaluated, observed: [], needsApproval: false };
  }
  // INVARIANT (strict reading): an approval gate cannot be bypassed by overlap. An allow (so no
  // forbid applied) with any satisfied `require_approval` permit is held, whatever else matched.
  const needsApproval = decision === 'allow' && determining.some((p) => p.enforcement === 'require_approval');
  return { decision, determining, errors, evaluated, observed: [], needsApproval };
}

/** Without the schema Cedar knows action groups only from action entities: add the request action's. */
function withActionHierarchy(set: CompiledPolicySet, request: EvaluationRequest): EvaluationRequest['entities'] {
  const extra = set.actionEntities.get(uidKey(request.action));
  return extra ? [...request.entities, ...extra] : request.entities;
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
 * The smallest entity slice that decides a request exactly as `all` would, for this policy set:
 * principal and resource always, and every entity a policy names as a literal and reads; an ancestor only when it has parents of its own (the hierarchy
 * above it matters), is reached through an attribute, or is named as a literal in a policy — a
 * child's `parents` edge alone already makes `in` hold, and Cedar accepts parents it was not
 * given; an entity an attribute (or context value) points to only when some policy reads through
 * an attribute of that name, the entity has parents, or it is named as a literal.
 * Each entity left out saves Cedar the parse and hierarchy work (a quarter of a call each here).
 */
export function sliceFor(
  set: CompiledPolicySet,
  all: ReadonlyMap<string, CedarEntity>,
  roots: readonly EntityUid[],
  context: Record<string, unknown> = {},
  options: { pruneAttributes?: boolean } = {},
): CedarEntity[] {
  const out = new Map<string, CedarEntity>();
  const needed = (key: string, entity: CedarEntity) =>
    entity.parents.length > 0 || set.literals.has(key) || set.literals.has(`${entity.uid.type}::*`);
  const stack: Array<{ key: string; forced: boolean }> = roots.map((r) => ({ key: uidKey(r), forced: true }));
  // Entities a policy names and reads (`Type::"id".attr`) are needed whether or not the request reaches them.
  for (const key of set.literals) if (all.has(key)) stack.push({ key, forced: true });
  for (const [name, value] of Object.entries(context)) {
    for (const ref of referencedEntities(value)) stack.push({ key: uidKey(ref), forced: set.dereferenced.has(name) || set.dereferenced.has('context') && hasDeref(set, value) });
  }
  const forcedSeen = new Set<string>();
  while (stack.length > 0) {
    const { key, forced } = stack.pop()!;
    const entity = all.get(key);
    if (!entity) continue;
    if (out.has(key) && (!forced || forcedSeen.has(key))) continue;
    if (!forced && !needed(key, entity)) continue;
    out.set(key, entity);
    if (forced) forcedSeen.add(key);
    for (const p of entity.parents) stack.push({ key: uidKey(p), forced: false });
    for (const [name, value] of Object.entries(entity.attrs)) {
      for (const ref of referencedEntities(value)) stack.push({ key: uidKey(ref), forced: set.dereferenced.has(name) });
    }
  }
  const slice = [...out.values()];
  if (!options.pruneAttributes || set.attributeNames.has('*')) return slice;
  return slice.map((entity) => {
    const attrs = pick(entity.attrs, set.attributeNames);
    return attrs === entity.attrs ? entity : { ...entity, attrs };
  });
}

/**
 * The context without the top-level keys no policy can read (see `attributeNames`), unless some
 * policy uses the context as a whole. Only for requests that are not checked against the schema
 * (which may require the keys).
 */
export function contextFor<T extends Record<string, unknown>>(set: CompiledPolicySet, context: T): T {
  if (set.contextWhole || set.attributeNames.has('*')) return context;
  return pick(context, set.attributeNames);
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

/** Whether some record key inside `value` is dereferenced by a policy (nested context records). */
function hasDeref(set: CompiledPolicySet, value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasDeref(set, v));
  return Object.entries(value as Record<string, unknown>).some(([k, v]) => (k !== '__entity' && set.dereferenced.has(k)) || hasDeref(set, v));
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
