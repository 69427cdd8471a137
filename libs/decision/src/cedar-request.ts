/** Step 4 — build the Cedar request: the context Argus owns, `now`, and the slice of entities the policies can read. */
import { contextFor, sliceFor, type CedarEntity, type CedarValue, type CompiledPolicySet, type EvaluationRequest } from '@argus/engine';
import type { Governed, Usage } from './apply-governance.ts';
import type { CheckedRequest } from './check-request.ts';
import { toCedarValue } from './entities.ts';

/** The request Cedar evaluates, with what it was cut from (a shadow candidate cuts its own). */
export interface CedarRequest {
  /** Sliced entities and (unless requests are validated) the context keys some policy reads. */
  request: EvaluationRequest;
  /** The whole context: the caller's, governance's, `usage`, `now`. */
  context: Record<string, CedarValue>;
  /** Every entity of the decision. */
  entities: Map<string, CedarEntity>;
  /** Whether attributes and context keys no policy reads are left out (requests not validated). */
  prune: boolean;
  now: Date;
}

/** Cedar's `datetime` for the decision time. */
export function nowValue(now: Date): CedarValue {
  return { __extn: { fn: 'datetime', arg: now.toISOString() } };
}

/**
 * The caller's context, then governance's and `usage` (which the caller cannot set). `now` is left
 * out only when no policy can read it (or the schema is checked, which requires it). Unchecked
 * requests carry only what some policy can read: each value Cedar does not have to parse is time
 * saved, and the answer is the same.
 */
export function buildCedarRequest(
  checked: CheckedRequest,
  governed: Governed,
  usage: Usage,
  now: Date,
  validateRequest: boolean,
): CedarRequest {
  const { set, principal, action, resource } = checked;
  const context: Record<string, CedarValue> = {
    ...(toCedarValue(checked.input.context ?? {}) as Record<string, CedarValue>),
    ...governed.context,
    ...(usage.usage ? { usage: usage.usage } : {}),
  };
  if (set.mentionsNow || validateRequest) context.now = nowValue(now);
  const prune = !validateRequest;
  const cedar: CedarRequest = {
    request: { principal, action, resource, context, entities: [] },
    context,
    entities: governed.entities,
    prune,
    now,
  };
  cedar.request.context = contextOf(set, cedar);
  cedar.request.entities = entitiesFor(set, cedar, [principal, resource]);
  return cedar;
}

/** Whether a policy of `set` can read `context.<key>` (no set: none can). */
export function readsContextKey(set: CompiledPolicySet | undefined, key: string): boolean {
  return set !== undefined && (set.reads.contextWhole || set.reads.contextKeys.has(key));
}

/** The context `set` is given: pruned to the keys its policies read unless requests are validated. */
export function contextOf(set: CompiledPolicySet, built: Pick<CedarRequest, 'context' | 'prune'>): Record<string, CedarValue> {
  return built.prune ? contextFor(set, built.context) : built.context;
}

/** The entities `set` can reach from the request's uids (attributes pruned unless requests are validated). */
export function entitiesFor(
  set: CompiledPolicySet,
  built: Pick<CedarRequest, 'context' | 'entities' | 'prune'>,
  roots: EvaluationRequest['principal'][],
): CedarEntity[] {
  return sliceFor(set, built.entities, roots, built.context, { pruneAttributes: built.prune });
}
