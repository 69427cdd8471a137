/**
 * Step 3 — governance: the delegation chain, the goal and the intent (`libs/governance`, through the
 * injected step), then the usage counters quotas read. Reads only: the goal's budget is spent by
 * `commitEffects`, once the final answer is known.
 */
import type { AuthorizeInput, ExplainLevel } from '@argus/contracts';
import { bareType, type GovernanceFacts, type GovernanceOutcome as ResolvedGovernance } from '@argus/governance';
import { uidKey, type CedarEntity, type CedarValue, type EntityUid } from '@argus/engine';
import type { CheckedRequest } from './check-request.ts';
import type { DecisionEffects } from './effects.ts';
import { deny, denied, switchDeny, type Denied, type Refusal } from './outcome.ts';
import type { ResolvedFacts, SwitchReader } from './resolve-facts.ts';

/**
 * What governance adds to a decision: `libs/governance`'s outcome (hard denies, the chain as
 * hierarchy, goal and intent facts) with its entities and context as the engine's Cedar values
 * (`governanceOutcome` converts), and the budget the decision spends.
 */
export interface GovernanceOutcome extends Pick<ResolvedGovernance, 'hardDeny' | 'principalParents'> {
  /** Entities governance owns for this request: chain agents and humans, the goal. */
  entities: CedarEntity[];
  /** Context entries governance owns: intent, goal, delegation. */
  context: Record<string, CedarValue>;
  /** The delegation, goal and intent facts (none without a governance step). */
  facts: Partial<GovernanceFacts>;
  /**
   * Runs once the final answer is an allow (never for a hold, a deny or a timeout): consumes what
   * the decision uses (a goal's action budget). An answer turns the allow into a hard deny with those codes.
   */
  commit?: () => Promise<Refusal | undefined>;
}

/** The governance step of a decision (delegation chain, goal, intent), injected by the composition root. */
export type GovernanceStep = (request: {
  input: AuthorizeInput;
  now: Date;
  principal: EntityUid;
  explain: ExplainLevel;
}) => Promise<GovernanceOutcome>;

/** The facts once governance agreed: every entity, the facts document, governance's context, the budget to spend. */
export interface Governed extends ResolvedFacts {
  context: Record<string, CedarValue>;
  /** Spends the goal's budget (see `GovernanceOutcome.commit`). */
  commit?: () => Promise<Refusal | undefined>;
}

/**
 * Runs governance and merges what it owns into the registry's facts: its entities (the registry's
 * win), the principal's delegating parent, its facts. A hard deny, or a switch stopping an agent
 * of the chain (known only now for a delegation token), ends the decision.
 */
export async function applyGovernance(
  step: GovernanceStep | undefined,
  checked: CheckedRequest,
  resolved: ResolvedFacts,
  at: { now: Date; explain: ExplainLevel },
  switches: SwitchReader | undefined,
): Promise<Governed | Denied> {
  const { input, principal } = checked;
  const { entities, facts } = resolved;
  const governance = step ? await step({ input, now: at.now, principal, explain: at.explain }) : ungoverned(input);
  Object.assign(facts, governance.facts);
  if (governance.hardDeny) return denied(deny([], governance.hardDeny.codes, facts, governance.hardDeny.message));
  const chainStop = switches?.checkAgents?.(governance.entities.filter((e) => bareType(e.uid.type) === 'Agent').map((e) => e.uid.id));
  if (chainStop) return denied(switchDeny(chainStop));
  for (const e of governance.entities) if (!entities.has(uidKey(e.uid))) entities.set(uidKey(e.uid), e);
  const principalEntity = entities.get(uidKey(principal));
  if (principalEntity) principalEntity.parents = [...principalEntity.parents, ...governance.principalParents];
  return { entities, facts, context: governance.context, ...(governance.commit ? { commit: governance.commit } : {}) };
}

/** Without a governance step: no delegation or goal can be checked (a hard deny if the request names one). */
function ungoverned(input: AuthorizeInput): GovernanceOutcome {
  if (input.delegation || input.delegationToken || input.goal) {
    return {
      hardDeny: { codes: ['governance_unavailable'], message: 'delegation and goal checks are not configured' },
      principalParents: [],
      entities: [],
      context: {},
      facts: {},
    };
  }
  return { principalParents: [], entities: [], context: { intent: input.intent ?? '', delegation: { depth: 0, scope: [] } }, facts: {} };
}

/** The usage counters of the decision (`context.usage`), when quotas are configured. */
export interface Usage {
  usage?: Record<string, CedarValue>;
}

/**
 * Reads `context.usage` (past decisions counted per quota) and ends the decision when a quota that
 * applies is already at its limit (`exhausted`; `counted` stays the authority under concurrency).
 * Skipped when nothing would read it (`needed` false: see `DecisionService`): the answer is the same
 * and the counters are not read for nothing.
 */
export async function readUsage(
  effects: DecisionEffects | undefined,
  checked: CheckedRequest,
  governed: Governed,
  now: Date,
  needed = true,
): Promise<Usage | Denied> {
  if (!needed) return {};
  const { input, principal, action, resource } = checked;
  const usage = effects?.usage ? await effects.usage({ input, principal, action, resource, now, context: governed.context }) : undefined;
  const spent = usage ? effects?.exhausted?.(usage) : undefined;
  if (spent) return denied(deny([], spent.codes, governed.facts, spent.message));
  return usage ? { usage } : {};
}
