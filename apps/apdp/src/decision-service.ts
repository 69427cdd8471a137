import { randomUUID } from 'node:crypto';
import type {
  AuthorizeInput,
  AuthorizeResponse,
  AuthorizeResult,
  DecideOptions,
  DecisionPoint,
  DecisionReason,
  DecisionRecorder,
  ExplainLevel,
} from '@argus/contracts';
import { contextFor, evaluate, mergeObligations, type DecisionMemo, sliceFor, summarize, uidKey, type CedarEntity, type CedarValue, type EntityUid } from '@argus/engine';
import { ArgusError, InvalidInputError, metric, Counter, Gauge, Histogram, type Registry } from '@argus/platform';
import type { Logger } from 'pino';
import { buildEntities, qualify, toCedarValue, toUid, type RegistryReader } from './entities.ts';
import type { PolicyHolder } from './policy-holder.ts';
import type { ShadowEvaluator, ShadowFlip } from './shadow.ts';

/** Context keys Argus fills itself; a caller may not set them. */
export const RESERVED_CONTEXT_KEYS = ['intent', 'goal', 'delegation', 'usage', 'now'] as const;

/** What governance adds to a decision: hard denies, the chain as hierarchy, goal and intent facts. */
export interface GovernanceOutcome {
  hardDeny?: { codes: string[]; message: string };
  /** Parents of the principal in Cedar's hierarchy (the next hop up the delegation chain). */
  principalParents: EntityUid[];
  /** Entities governance owns for this request: chain agents and humans, the goal. */
  entities: CedarEntity[];
  /** Context entries governance owns: intent, goal, delegation, usage. */
  context: Record<string, CedarValue>;
  facts: Record<string, unknown>;
  /**
   * Runs once Cedar allowed: consumes what the decision uses (a goal's action budget). An answer
   * turns the allow into a hard deny with those codes.
   */
  commit?: () => Promise<{ codes: string[]; message: string } | undefined>;
}

/** One request as the effects hooks see it. */
export interface EffectRequest {
  decisionId: string;
  /** Set by an effect to link this decision to an earlier one in the audit trail (an approval retry). */
  related?: { id?: string };
  input: AuthorizeInput;
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, CedarValue>;
  now: Date;
}

/**
 * Hooks for the decisions that do more than allow or deny (approvals, acting forbids, quotas),
 * injected by the composition root. Every hook failure fails closed.
 */
export interface DecisionEffects {
  /**
   * An allow held by `@effect("require_approval")`: consume a matching approval given in
   * `input.approval` (→ approved) or open a request for a human (→ pending).
   */
  approval?(request: EffectRequest, policies: string[]): Promise<{ status: 'approved'; id: string; relatedDecisionId?: string } | { status: 'pending'; id: string; expiresAt: string }>;
  /** A deny determined by forbids carrying `quarantine`, `revoke` or `escalate`: carry them out. */
  act?(request: EffectRequest, effects: Array<{ policy: string; effect: 'quarantine' | 'revoke' | 'escalate' }>, result: AuthorizeResult): Promise<Array<{ policy: string; effect: string; status: 'applied' | 'failed' }>>;
  /** Counters over past decisions for `context.usage`; undefined when they cannot be read (rules depending on them then fail closed). */
  usage?(request: Omit<EffectRequest, 'context' | 'decisionId'>): Promise<Record<string, CedarValue> | undefined>;
  /** Called once a decision is made, to count it (quotas). */
  counted?(request: EffectRequest, result: AuthorizeResult): Promise<void>;
}

/** The governance step of a decision (delegation chain, goal, intent), injected by the composition root. */
export type GovernanceStep = (request: { input: AuthorizeInput; now: Date; principal: EntityUid; explain: ExplainLevel }) => Promise<GovernanceOutcome>;

/** Collaborators of the decision service. */
export interface DecisionServiceDeps {
  policies: PolicyHolder;
  registry: RegistryReader;
  governance?: GovernanceStep;
  effects?: DecisionEffects;
  /** A candidate policy set evaluated beside the live one; flips are counted and audited. */
  shadow?: ShadowEvaluator;
  recorder?: DecisionRecorder;
  metrics: Registry;
  logger: Logger;
  clock?: () => Date;
  newId?: () => string;
  /** Budget for registry and governance reads; past it the decision is a deny. */
  decisionTimeoutMs: number;
  /** Validate each request against the Cedar schema (types of attributes and context). Default false: policies are validated at load, and per-request validation costs ~75% more per call. */
  validateRequest?: boolean;
  /** Memoised Cedar answers for inputs seen before; absent → every request calls Cedar. */
  memo?: DecisionMemo;
}

/** The in-process decision point: registry facts, governance, Cedar, audit. */
export class DecisionService implements DecisionPoint {
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly decisions: Counter;
  private readonly latency: Histogram;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? randomUUID;
    this.decisions = metric(deps.metrics, 'argus_decisions_total', () => new Counter({ name: 'argus_decisions_total', help: 'Decisions by outcome and caller', labelNames: ['decision', 'caller'], registers: [deps.metrics] }));
    const memo = deps.memo;
    if (memo) {
      metric(deps.metrics, 'argus_decision_memo_total', () => new Gauge({
        name: 'argus_decision_memo_total',
        help: 'Memoised Cedar answers: hits, misses, and requests not memoised (skipped) since start',
        labelNames: ['outcome'],
        registers: [deps.metrics],
        collect() {
          const s = memo.stats();
          this.set({ outcome: 'hit' }, s.hits);
          this.set({ outcome: 'miss' }, s.misses);
          this.set({ outcome: 'skipped' }, s.skipped);
        },
      }));
    }
    this.latency = metric(deps.metrics, 'argus_decision_duration_seconds', () => new Histogram({ name: 'argus_decision_duration_seconds', help: 'Time to decide, from request to answer', labelNames: ['caller'], buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [deps.metrics] }));
  }

  /**
   * Decides one input. Bad input throws `InvalidInputError` (a 400 naming the path); every other
   * failure — registry or governance unreachable, timeout, engine error — is a deny with the reason.
   */
  async decide(input: AuthorizeInput, options: DecideOptions, shared: AuthorizeInput['entities'] = []): Promise<AuthorizeResponse> {
    const started = performance.now();
    const now = this.clock();
    const decisionId = this.newId();
    const active = this.deps.policies.current;
    const explain = options.explain ?? 'reasons';
    let result: AuthorizeResult;
    const shadowed: { flip?: ShadowFlip; related: { id?: string } } = { related: {} };
    if (!active) {
      result = deny([{ code: 'no_policy_set', message: 'no policy set is loaded' }]);
    } else {
      result = await this.withTimeout(this.evaluateInput(input, now, explain, active.set, shared ?? [], decisionId, shadowed));
    }
    const response: AuthorizeResponse = { decision_id: decisionId, policy_version: active?.set.version ?? 'none', result };
    const latencyMs = performance.now() - started;
    this.decisions.inc({ decision: result.decision, caller: options.caller.kind });
    this.latency.observe({ caller: options.caller.kind }, latencyMs / 1000);
    if (options.audit !== false && this.deps.recorder) {
      const shadow = shadowed.flip ? { shadow: { candidateVersion: shadowed.flip.candidateVersion, from: shadowed.flip.from, to: shadowed.flip.to, candidatePolicies: shadowed.flip.candidatePolicies } } : {};
      await this.deps.recorder.record({ decisionId, time: now.toISOString(), caller: options.caller, input, result, policyVersion: response.policy_version, latencyMs, ...shadow, ...(shadowed.related.id ? { relatedDecisionId: shadowed.related.id } : {}) });
    }
    return response;
  }

  private async withTimeout(work: Promise<AuthorizeResult>): Promise<AuthorizeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<AuthorizeResult>((resolve) => {
      timer = setTimeout(() => resolve(deny([{ code: 'decision_timeout', message: `facts not resolved within ${this.deps.decisionTimeoutMs} ms` }], ['decision_timeout'])), this.deps.decisionTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async evaluateInput(
    input: AuthorizeInput,
    now: Date,
    explain: ExplainLevel,
    set: NonNullable<PolicyHolder['current']>['set'],
    shared: NonNullable<AuthorizeInput['entities']>,
    decisionId: string,
    shadowed: { flip?: ShadowFlip; related: { id?: string } },
  ): Promise<AuthorizeResult> {
    const action: EntityUid = { type: qualify('Action'), id: input.action };
    if (!set.actions.has(uidKey(action))) {
      throw new InvalidInputError(`unknown action \`${input.action}\``, [{ path: '/input/action', message: `\`${input.action}\` is not an action of the schema` }]);
    }
    for (const key of Object.keys(input.context ?? {})) {
      if ((RESERVED_CONTEXT_KEYS as readonly string[]).includes(key)) {
        throw new InvalidInputError(`context key \`${key}\` is set by Argus`, [{ path: `/input/context/${key}`, message: 'reserved context key; use the top-level field instead' }]);
      }
    }
    try {
      const { entities, facts: registryFacts } = await buildEntities(input, this.deps.registry, set.entityTypes, shared);
      const principal = toUid(input.principal);
      const codes: string[] = [];
      if (registryFacts.agent.trust === 'revoked') codes.push('agent_revoked');
      if (registryFacts.agent.trust === 'quarantined') codes.push('agent_quarantined');
      if (registryFacts.agent.lease === 'unknown') codes.push('lease_unknown');
      const facts: Record<string, unknown> = { agent: registryFacts.agent, resource: registryFacts.resource };
      if (registryFacts.ignored.length > 0) facts.ignored = registryFacts.ignored;
      if (codes.length > 0) return deny([], codes, facts, `hard deny: ${codes.join(', ')}`);

      const governance = await this.governance(input, now, principal, explain);
      Object.assign(facts, governance.facts);
      if (governance.hardDeny) return deny([], governance.hardDeny.codes, facts, governance.hardDeny.message);
      for (const e of governance.entities) if (!entities.has(uidKey(e.uid))) entities.set(uidKey(e.uid), e);
      const principalEntity = entities.get(uidKey(principal));
      if (principalEntity) principalEntity.parents = [...principalEntity.parents, ...governance.principalParents];

      const resource = toUid(input.resource);
      const usage = this.deps.effects?.usage ? await this.deps.effects.usage({ input, principal, action, resource, now }) : undefined;
      const context: Record<string, CedarValue> = {
        ...(toCedarValue(input.context ?? {}) as Record<string, CedarValue>),
        ...governance.context,
        ...(usage ? { usage } : {}),
      };
      // INVARIANT: `now` is left out only when no policy can read it (or the schema is checked, which requires it).
      const nowValue = (): CedarValue => ({ __extn: { fn: 'datetime', arg: now.toISOString() } });
      if (set.mentionsNow || this.deps.validateRequest) context.now = nowValue();
      // Unchecked requests carry only what some policy can read (attributes, context keys):
      // each value Cedar does not have to parse is time saved, and the answer is the same.
      const prune = !this.deps.validateRequest;
      const contextOf = (s: typeof set, c: typeof context) => (prune ? contextFor(s, c) : c);
      const slice = sliceFor(set, entities, [principal, resource], context, { pruneAttributes: prune });
      const cedarRequest = { principal, action, resource, context: contextOf(set, context), entities: slice };
      const decision = evaluate(set, cedarRequest, { validateRequest: this.deps.validateRequest ?? false, ...(this.deps.memo ? { memo: this.deps.memo } : {}) });
      const candidate = this.deps.shadow?.candidate;
      // The candidate gets its own slice (and `now` if it reads it): pruning depends on the policies.
      const flip = candidate
        ? this.deps.shadow!.evaluate(
            {
              ...cedarRequest,
              context: contextOf(candidate, candidate.mentionsNow && !context.now ? { ...context, now: nowValue() } : context),
              entities: sliceFor(candidate, entities, [principal, resource], context, { pruneAttributes: prune }),
            },
            summarize(decision),
          )
        : undefined;
      if (flip) shadowed.flip = flip;
      const reasons: DecisionReason[] = decision.determining.map((p) => ({ policy: p.id, effect: p.effect, annotations: explain === 'none' ? {} : p.annotations }));
      const result: AuthorizeResult = {
        allow: decision.decision === 'allow',
        decision: decision.decision,
        reasons,
        errors: decision.errors.map((e) => ({ ...(e.policyId ? { policy: e.policyId } : {}), code: e.code, message: e.message })),
      };
      if (decision.observed.length > 0) result.observed = decision.observed.map((p) => ({ policy: p.id, effect: p.effect, annotations: p.annotations }));
      if (explain !== 'none') result.facts = { ...facts, policies: { evaluated: decision.evaluated, total: set.policies.size } };
      if (explain === 'full') {
        result.explanation = { entities: slice, context, request: { principal, action, resource } };
      }
      const effectRequest: EffectRequest = { decisionId, input, principal, action, resource, context, now, related: shadowed.related };
      if (result.allow) {
        const obligations = mergeObligations(decision.determining);
        if (Object.keys(obligations).length > 0) result.obligations = obligations;
      }
      if (result.allow && governance.commit) {
        const refused = await governance.commit();
        if (refused) return deny([], refused.codes, facts, refused.message);
      }
      if (decision.needsApproval) await this.holdForApproval(result, effectRequest, decision.determining.map((p) => p.id));
      const acting = decision.decision === 'deny' ? decision.determining.filter((p) => p.enforcement === 'quarantine' || p.enforcement === 'revoke' || p.enforcement === 'escalate') : [];
      if (acting.length > 0) {
        const wanted = acting.map((p) => ({ policy: p.id, effect: p.enforcement as 'quarantine' | 'revoke' | 'escalate' }));
        result.effects = this.deps.effects?.act ? await this.deps.effects.act(effectRequest, wanted, result) : wanted.map((w) => ({ ...w, status: 'failed' as const }));
      }
      if (this.deps.effects?.counted) await this.deps.effects.counted(effectRequest, result);
      return result;
    } catch (err) {
      if (err instanceof InvalidInputError) throw err;
      const refusal = (err as { reason?: unknown; approvalId?: unknown }).reason;
      if (err instanceof ArgusError && typeof refusal === 'string' && refusal.startsWith('approval_')) {
        return deny([{ code: refusal, message: err.message }], [refusal]);
      }
      const code = err instanceof ArgusError ? err.code : 'internal_error';
      this.deps.logger.warn({ code, err: err instanceof Error ? err.message : String(err) }, 'decision failed closed');
      return deny([{ code, message: err instanceof ArgusError ? err.message : 'internal error while deciding' }], [code === 'unavailable' ? 'facts_unavailable' : 'internal_error']);
    }
  }

  /** Turns an approval-gated allow into `needs_approval`, unless a matching approval is consumed. */
  private async holdForApproval(result: AuthorizeResult, request: EffectRequest, policies: string[]): Promise<void> {
    const hold = (): void => {
      result.allow = false;
      result.decision = 'needs_approval';
      delete result.obligations;
    };
    if (!this.deps.effects?.approval) {
      hold();
      result.decision = 'deny';
      result.codes = [...(result.codes ?? []), 'approval_unavailable'];
      return;
    }
    const answer = await this.deps.effects.approval(request, policies);
    if (answer.status === 'approved') {
      result.approval = { id: answer.id, status: 'approved' };
      if (answer.relatedDecisionId && request.related) request.related.id = answer.relatedDecisionId;
      return;
    }
    hold();
    result.approval = { id: answer.id, expiresAt: answer.expiresAt, status: 'pending' };
  }

  private async governance(input: AuthorizeInput, now: Date, principal: EntityUid, explain: ExplainLevel): Promise<GovernanceOutcome> {
    if (this.deps.governance) return this.deps.governance({ input, now, principal, explain });
    if (input.delegation || input.delegationToken || input.goal) {
      return { hardDeny: { codes: ['governance_unavailable'], message: 'delegation and goal checks are not configured' }, principalParents: [], entities: [], context: {}, facts: {} };
    }
    return { principalParents: [], entities: [], context: { intent: input.intent ?? '', delegation: { depth: 0, scope: [] } }, facts: {} };
  }
}

function deny(errors: AuthorizeResult['errors'], codes: string[] = [], facts?: Record<string, unknown>, message?: string): AuthorizeResult {
  const result: AuthorizeResult = { allow: false, decision: 'deny', reasons: [], errors };
  if (codes.length > 0) result.codes = codes;
  if (facts) result.facts = message ? { ...facts, hardDeny: message } : facts;
  return result;
}
