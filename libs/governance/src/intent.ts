/**
 * Intents: the declared reason for an action. A catalogue says which actions (and, optionally,
 * which resource types) each intent can justify.
 */
import type { DenyCode, EntityRef } from '@argus/contracts';
import { actionMatches } from './scope.ts';
import { bareType, formatUid } from './uid.ts';

/** One catalogue entry. */
export interface IntentDefinition {
  description: string;
  /** Action patterns this intent justifies (same syntax as scope actions: `tool:*`). */
  actions: string[];
  /** When present, the resource types (without namespace) it justifies. */
  resourceTypes?: string[];
}

/** The intent catalogue (`cedar/intents.json`, schema `https://argus.dev/schemas/governance/intent-catalogue.json`). */
export interface IntentCatalogue {
  intents: Record<string, IntentDefinition>;
}

/** Stable codes of an intent that does not justify the action (catalogued in `@argus/contracts`). */
export type IntentCode = Extract<DenyCode, 'intent_unknown' | 'intent_action_mismatch' | 'intent_resource_mismatch' | 'intent_missing'>;

/** What `checkIntent` needs. */
export interface CheckIntentInput {
  catalogue: IntentCatalogue;
  intent: string | undefined;
  action: string;
  resource: EntityRef;
  /** When true a decision without an intent is refused with `intent_missing`. */
  required: boolean;
}

/** The tagged answer of `checkIntent`. `intent` is undefined when none was declared (and none required). */
export type IntentResult =
  { ok: true; intent: string | undefined } | { ok: false; code: IntentCode; intent: string | undefined; message: string };

/** Checks that the declared intent is known and justifies the action on the resource. */
export function checkIntent(input: CheckIntentInput): IntentResult {
  const { intent, catalogue } = input;
  if (intent === undefined || intent === '') {
    return input.required
      ? { ok: false, code: 'intent_missing', intent: undefined, message: 'an intent is required for every decision' }
      : { ok: true, intent: undefined };
  }
  const def = Object.hasOwn(catalogue.intents, intent) ? catalogue.intents[intent] : undefined;
  if (!def) return { ok: false, code: 'intent_unknown', intent, message: `intent \`${intent}\` is not in the catalogue` };
  if (!def.actions.some((p) => actionMatches(p, input.action))) {
    return {
      ok: false,
      code: 'intent_action_mismatch',
      intent,
      message: `intent \`${intent}\` does not justify action \`${input.action}\``,
    };
  }
  if (def.resourceTypes && !def.resourceTypes.some((t) => bareType(t) === bareType(input.resource.type))) {
    return {
      ok: false,
      code: 'intent_resource_mismatch',
      intent,
      message: `intent \`${intent}\` does not justify \`${input.action}\` on \`${formatUid(input.resource)}\` (resource type \`${bareType(input.resource.type)}\`)`,
    };
  }
  return { ok: true, intent };
}

/** The intent names of a goal or request that the catalogue does not define. */
export function unknownIntents(catalogue: IntentCatalogue, names: readonly string[]): string[] {
  return names.filter((n) => !Object.hasOwn(catalogue.intents, n));
}
