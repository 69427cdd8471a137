/** Step 1 — check the request: what Argus refuses outright (400) before reading anything. */
import type { AuthorizeInput, EntityData } from '@argus/contracts';
import { uidKey, type CompiledPolicySet, type EntityUid } from '@argus/engine';
import { cedarType, cedarUid } from '@argus/governance';
import { checkType } from './entities.ts';
import { deny, denied, type Denied } from './outcome.ts';
import { checkInputStrings, RequestRefusedError } from './request-checks.ts';

/** Context keys Argus fills itself; a caller may not set them. */
export const RESERVED_CONTEXT_KEYS = ['intent', 'goal', 'delegation', 'usage', 'now'] as const;

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
    if ((RESERVED_CONTEXT_KEYS as readonly string[]).includes(key)) {
      throw new RequestRefusedError('reserved_context_key', `context key \`${key}\` is set by Argus`, [
        { path: `/input/context/${key}`, message: 'reserved context key; use the top-level field instead' },
      ]);
    }
  }
  checkType(input.principal.type, '/input/principal/type', set.entityTypes);
  checkType(input.resource.type, '/input/resource/type', set.entityTypes);
  shared.forEach((e, i) => checkType(e.uid.type, `/entities/${i}/uid/type`, set.entityTypes));
  (input.entities ?? []).forEach((e, i) => checkType(e.uid.type, `/input/entities/${i}/uid/type`, set.entityTypes));
  return { input, shared, set, principal: cedarUid(input.principal), action, resource: cedarUid(input.resource) };
}
