/** Step 1 — check the request: what Argus refuses outright (400) before reading anything. */
import type { AuthorizeInput, EntityData } from '@argus/contracts';
import {
  cedarValueIssue,
  issuePath,
  resolvedSchemaJson,
  schemaTypes,
  uidKey,
  type CompiledPolicySet,
  type EntityUid,
  type SchemaTypes,
  type ValueCheck,
} from '@argus/engine';
import { bareType, cedarType, cedarUid } from '@argus/governance';
import { escapePointer } from '@argus/platform';
import { checkType, REGISTRY_OWNED } from './entities.ts';
import { deny, denied, type Denied } from './outcome.ts';
import { checkInputStrings, RequestRefusedError } from './request-checks.ts';

/** Context keys Argus fills itself; a caller may not set them. */
export const RESERVED_CONTEXT_KEYS = ['intent', 'goal', 'delegation', 'usage', 'now'] as const;

/**
 * Where each reserved key comes from, as a refusal says it: the top-level field of the input
 * that Argus turns into it, or that Argus alone sets it (no field of the input sets `usage` or `now`).
 */
const RESERVED_CONTEXT_SOURCE: Record<(typeof RESERVED_CONTEXT_KEYS)[number], string> = {
  intent: 'Argus fills it from the top-level `intent`; send the intent there',
  goal: 'Argus fills it from the top-level `goal`; send the goal id there',
  delegation: 'Argus fills it from the verified chain of the top-level `delegation` or `delegationToken`; send the chain there',
  usage: 'Argus fills it from its quota counters; a caller cannot set it',
  now: 'Argus sets it to the decision time; a caller cannot set it',
};

/** A request Argus accepted to decide, with its Cedar uids and the policy set it is decided with. */
export interface CheckedRequest {
  input: AuthorizeInput;
  /** Entities shared by every input of a batch. */
  shared: EntityData[];
  set: CompiledPolicySet;
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
}

/**
 * Ids and strings, then (with a policy set loaded) the action, reserved context keys and entity
 * types. Throws `RequestRefusedError` naming the path; no policy set loaded is a deny `no_policy_set`.
 */
export function checkRequest(input: AuthorizeInput, shared: EntityData[], set: CompiledPolicySet | undefined): CheckedRequest | Denied {
  checkInputStrings(input, shared);
  if (!set)
    return denied(
      deny([{ code: 'no_policy_set', message: 'no policy set is loaded' }], ['no_policy_set'], undefined, 'no policy set is loaded'),
    );
  const action: EntityUid = { type: cedarType('Action'), id: input.action };
  if (!set.actions.has(uidKey(action))) {
    throw new RequestRefusedError('unknown_action', `unknown action \`${input.action}\``, [
      { path: '/input/action', message: `\`${input.action}\` is not an action of the schema` },
    ]);
  }
  for (const key of Object.keys(input.context ?? {})) {
    if (Object.hasOwn(RESERVED_CONTEXT_SOURCE, key)) {
      const source = RESERVED_CONTEXT_SOURCE[key as keyof typeof RESERVED_CONTEXT_SOURCE];
      throw new RequestRefusedError('reserved_context_key', `context key \`${key}\` is set by Argus`, [
        { path: `/input/context/${key}`, message: `reserved context key: ${source}` },
      ]);
    }
  }
  checkType(input.principal.type, '/input/principal/type', set.entityTypes);
  checkType(input.resource.type, '/input/resource/type', set.entityTypes);
  shared.forEach((e, i) => checkType(e.uid.type, `/entities/${i}/uid/type`, set.entityTypes));
  (input.entities ?? []).forEach((e, i) => checkType(e.uid.type, `/input/entities/${i}/uid/type`, set.entityTypes));
  checkValues(input, shared, set, action);
  return { input, shared, set, principal: cedarUid(input.principal), action, resource: cedarUid(input.resource) };
}

/** The schema's declared types per policy set (built once per set, on its first request). */
const typesBySet = new WeakMap<CompiledPolicySet, SchemaTypes | null>();

function typesOf(set: CompiledPolicySet): SchemaTypes | undefined {
  let types = typesBySet.get(set);
  if (types === undefined) {
    types = schemaTypes(resolvedSchemaJson(set.sources.schema), cedarType) ?? null;
    typesBySet.set(set, types);
  }
  return types ?? undefined;
}

/**
 * Every value the caller supplies (resource and principal attributes, entities' attributes and
 * tags, the context) must be a Cedar value of the type the schema declares for it (see
 * `request-values.ts` in `@argus/engine`): else a 400 `invalid_value` naming its path. The
 * decision path evaluates without the schema and reads only what policies read, so such a value
 * would otherwise pass where Cedar refuses the request, or compare unequal and skip a forbid.
 */
function checkValues(input: AuthorizeInput, shared: EntityData[], set: CompiledPolicySet, action: EntityUid): void {
  const types = typesOf(set);
  const check = (base: string, value: unknown, declared: ValueCheck | undefined): void => {
    if (value === undefined) return;
    const found = (declared ?? cedarValueIssue)(value);
    if (!found) return;
    const path = issuePath(base, found);
    throw new RequestRefusedError('invalid_value', `invalid value at \`${path}\`: ${found.message}`, [{ path, message: found.message }]);
  };
  const attrsOf = (type: string) => types?.attrs(cedarType(type));
  const tagsOf = (type: string) => types?.tags(cedarType(type));
  check('/input/resource/attributes', input.resource.attributes, attrsOf(input.resource.type));
  // A registry-owned principal's attributes are ignored (the registry supplies them).
  if (!REGISTRY_OWNED.has(bareType(input.principal.type))) {
    check('/input/principal/attributes', input.principal.attributes, attrsOf(input.principal.type));
  }
  check('/input/context', input.context, types?.context(uidKey(action)));
  const entities = (base: string, list: readonly EntityData[]) =>
    list.forEach((e, i) => {
      check(`${base}/${i}/attrs`, e.attrs, attrsOf(e.uid.type));
      const tag = tagsOf(e.uid.type);
      for (const k in e.tags ?? {}) if (Object.hasOwn(e.tags!, k)) check(`${base}/${i}/tags/${escapePointer(k)}`, e.tags![k], tag);
    });
  entities('/entities', shared);
  entities('/input/entities', input.entities ?? []);
  checkEntityGraph(shared, input.entities ?? []);
}

/**
 * The supplied entities as Cedar reads them: each uid once, and no cycle through their parents
 * (Cedar refuses both; evaluation would see only the entities a policy reaches). A 400
 * `invalid_value` naming the second entry, or the parents that close the cycle.
 */
function checkEntityGraph(shared: readonly EntityData[], own: readonly EntityData[]): void {
  if (shared.length + own.length === 0) return;
  const at = (i: number) => (i < shared.length ? `/entities/${i}` : `/input/entities/${i - shared.length}`);
  const all = [...shared, ...own];
  const index = new Map<string, number>();
  all.forEach((e, i) => {
    const key = uidKey(cedarUid(e.uid));
    const first = index.get(key);
    if (first !== undefined) {
      const message = `entity \`${key}\` is supplied twice (first at \`${at(first)}\`)`;
      throw new RequestRefusedError('invalid_value', message, [{ path: `${at(i)}/uid`, message }]);
    }
    index.set(key, i);
  });
  // Depth-first, iterative: 0 unvisited, 1 on the current path, 2 done.
  const state = new Uint8Array(all.length);
  for (let start = 0; start < all.length; start++) {
    if (state[start] !== 0) continue;
    const stack: Array<[node: number, next: number]> = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const parents = all[top[0]]!.parents ?? [];
      if (top[1] >= parents.length) {
        state[top[0]] = 2;
        stack.pop();
        continue;
      }
      const j = index.get(uidKey(cedarUid(parents[top[1]++]!)));
      if (j === undefined || state[j] === 2) continue;
      if (state[j] === 1) {
        const message = `the parents of the supplied entities form a cycle through \`${uidKey(cedarUid(all[j]!.uid))}\``;
        throw new RequestRefusedError('invalid_value', message, [{ path: `${at(top[0])}/parents/${top[1] - 1}`, message }]);
      }
      state[j] = 1;
      stack.push([j, 0]);
    }
  }
}
