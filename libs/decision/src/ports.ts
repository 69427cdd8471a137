/**
 * What the decision pipeline needs from the process around it, as small ports: the active policy
 * set, a shadow candidate, kill switches. The decision point app implements them (`PolicyHolder`,
 * `ShadowEvaluator`, `SwitchBoard`); the library never imports the app.
 */
import type { DecisionEvent } from '@argus/contracts';
import type { CompiledPolicySet, DecisionSummary, EvaluationRequest } from '@argus/engine';
import type { SwitchRecord } from '@argus/store';

/** The one active policy set of the process (`PolicyHolder`); undefined before the first load. */
export interface PolicyReader {
  readonly current: { set: CompiledPolicySet } | undefined;
}

/** What the audit record keeps of a decision the shadow candidate would have made differently. */
export type ShadowFlip = NonNullable<DecisionEvent['shadow']>;

/** A candidate policy set evaluated beside the live one (`ShadowEvaluator`): compared, never enforced. */
export interface ShadowPort {
  readonly candidate: CompiledPolicySet | undefined;
  /** The flip for the audit record, or undefined when the outcomes agree. */
  evaluate(request: EvaluationRequest, live: DecisionSummary): ShadowFlip | undefined;
}

/** Why a decision is stopped before any policy runs: a matching switch, or switches that cannot be read. */
export type SwitchVerdict =
  { code: 'switch_stopped'; switch: SwitchRecord; message: string } | { code: 'switches_unavailable'; message: string };
