import { randomUUID } from 'node:crypto';
import type {
  AuthorizeInput,
  AuthorizeResponse,
  AuthorizeResult,
  DecideOptions,
  DecisionPoint,
  DecisionReason,
  DecisionRecorder,
  DenyCode,
  ExplainLevel,
} from '@argus/contracts';
import { isApprovalRefusalCode } from '@argus/contracts';
import { contextFor, contextKeysRead, evaluate, mergeObligations, type DecisionMemo, sliceFor, summarize, uidKey, type CedarEntity, type CedarValue, type EngineDecision, type EntityUid, type CompiledEvaluation } from '@argus/engine';
import { ArgusError, InvalidInputError, metric, Counter, Gauge, Histogram, type ErrorDetail, type Registry } from '@argus/platform';
import type { Logger } from 'pino';
import { buildEntities, checkType, qualify, shortType, toCedarValue, toUid, type RegistryReader } from './entities.ts';
import { checkInputStrings, RequestRefusedError, recordableInput } from './request-checks.ts';
import { denySummary, explainDeny } from './deny-explanation.ts';
import type { PolicyReader, ShadowFlip, ShadowPort, SwitchVerdict } from './ports.ts';

/** Context keys Argus fills itself; a caller may not set them. */
export const RESERVED_CONTEXT_KEYS = ['intent', 'goal', 'delegation', 'usage', 'now'] as const;

/** What governance adds to a decision: hard denies, the chain as hierarchy, goal and intent facts. */
export interface GovernanceOutcome {
  hardDeny?: { codes: DenyCode[]; message: string };
  /** Parents of the principal in Cedar's hierarchy (the next hop up the delegation chain). */
  principalParents: EntityUid[];
  /** Entities governance owns for this request: chain agents and humans, the goal. */
  entities: CedarEntity[];
  /** Context entries governance owns: intent, goal, delegation, usage. */
  context: Record<string, CedarValue>;
  facts: Record<string, unknown>;
  /**
   * Runs once the final answer is an allow (never for a hold, a deny or a timeout): consumes what
   * the decision uses (a goal's action budget). An answer turns the allow into a hard deny with those codes.
   */
  commit?: () => Promise<{ codes: DenyCode[]; message: string } | undefined>;
}

/** What the approval hook found; `commit` writes it (consume the approval, or open the request). */
export type ApprovalPlan =
  | { status: 'approved'; id: string; relatedDecisionId?: string; commit: () => Promise<void> }
  | { status: 'pending'; id: string; expiresAt: string; commit?: () => Promise<void> };

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
  /**
   * For an approval-gated request: the context keys the gating policies read (`all` when one reads
   * the context as a whole). The approval is bound to these (and the governance keys), not to
   * context the policies never look at. Absent: the whole context.
   */
  approvalContextKeys?: string[] | 'all';
}

/**
 * Hooks for the decisions that do more than allow or deny (approvals, acting forbids, quotas),
 * injected by the composition root. Every hook failure fails closed.
 */
export interface DecisionEffects {
  /**
   * An allow held by `@effect("require_approval")`, read only: a matching approval given in
   * `input.approval` (→ approved; `commit` consumes it) or the request a human must answer
   * (→ pending; `commit` opens it when it is new). A refused approval throws `ApprovalRefusedError`.
   * Nothing is written until the decision service calls `commit` (and never after a timeout).
   */
  approval?(request: EffectRequest, policies: string[]): Promise<ApprovalPlan>;
  /** A deny determined by forbids carrying `quarantine`, `revoke` or `escalate`: carry them out. */
  act?(request: EffectRequest, effects: Array<{ policy: string; effect: 'quarantine' | 'revoke' | 'escalate' }>, result: AuthorizeResult): Promise<Array<{ policy: string; effect: string; status: 'applied' | 'failed' }>>;
  /**
   * Counters over past decisions for `context.usage` (read only); undefined when they cannot be
   * read (rules depending on them then fail closed). `context` is what governance resolved (the
   * delegation root names the end user).
   */
  usage?(request: Omit<EffectRequest, 'context' | 'decisionId'> & { context?: Record<string, CedarValue> }): Promise<Record<string, CedarValue> | undefined>;
  /**
   * Called once the final answer is known, first of the commit steps, to count it (quotas). An
   * answer turns the allow into a hard deny with those codes (a quota at its limit), before any
   * budget or approval is spent.
   */
  counted?(request: EffectRequest, result: AuthorizeResult): Promise<{ codes: DenyCode[]; message: string } | undefined>;
  /**
   * The read-only side of a limited quota: given `context.usage`, the refusal when a quota that
   * applies is already at its limit. Checked in the plan, so a what-if, an anonymous caller and
   * an approval-gated request see it too; `counted` stays the authority under concurrency.
   */
  exhausted?(usage: Record<string, CedarValue>): { codes: DenyCode[]; message: string } | undefined;
}

/** The governance step of a decision (delegation chain, goal, intent), injected by the composition root. */
export type GovernanceStep = (request: { input: AuthorizeInput; now: Date; principal: EntityUid; explain: ExplainLevel }) => Promise<GovernanceOutcome>;

/** Collaborators of the decision service. */
export interface DecisionServiceDeps {
  policies: PolicyReader;
  registry: RegistryReader;
  governance?: GovernanceStep;
  effects?: DecisionEffects;
  /** A candidate policy set evaluated beside the live one; flips are counted and audited. */
  shadow?: ShadowPort;
  recorder?: DecisionRecorder;
  metrics: Registry;
  logger: Logger;
  clock?: () => Date;
  newId?: () => string;
  /**
   * Budget for the reads of a decision (registry, governance, usage, approvals) and Cedar; past it
   * the decision is a deny and none of its side effects is committed.
   */
  decisionTimeoutMs: number;
  /** Validate each request against the Cedar schema (types of attributes and context). Default false: policies are validated at load, and per-request validation costs ~75% more per call. */
  validateRequest?: boolean;
  /** Memoised Cedar answers for inputs seen before; absent → every request calls Cedar. */
  memo?: DecisionMemo;
  /**
   * `registry.requireRegistered`: an Agent principal the registry does not know is a hard deny
   * `agent_unknown`. Unset: the registry reader's own `requireRegistered` (default off).
   */
  requireRegistered?: boolean;
  /**
   * Hears every registered agent an authenticated caller asked a decision for (not anonymous
   * callers, not what-ifs): its traffic renews its lease and `lastSeen` (see `TrafficMarker`).
   */
  seen?: (agentId: string) => void;
  /**
   * Compiled evaluation (`policy.compiled`, `policy.verifySample`): the policies as JavaScript
   * closures, proven equal to cedar-wasm by differential testing and checked online on a sample.
   * `false` sends every request to cedar-wasm. Default: on, no online verification.
   */
  compiled?: CompiledEvaluation | false;
  /**
   * Switches (`switches.ts`): a stopped agent, tool, server or `all` is a hard deny
   * `switch_stopped` before anything is read or evaluated; a snapshot too old to trust is a hard
   * deny `switches_unavailable`. Absent: no switches (tests, embeddings).
   */
  switches?: {
    check(input: AuthorizeInput): SwitchVerdict | undefined;
    /** The agents of the chain governance resolved (a delegation token's chain is known only then). */
    checkAgents?(ids: readonly string[]): SwitchVerdict | undefined;
  };
}

/** A 400 for a refused request that was still recorded: the wire error carries the record's `decision_id`. */
export class DecisionRefusedError extends InvalidInputError {
  constructor(
    readonly decisionId: string,
    readonly reason: DenyCode,
    refused: InvalidInputError,
  ) {
    super(refused.message, refused.errors);
  }

  /** The wire error body with the decision id. */
  body(): { code: string; message: string; errors: ErrorDetail[]; decision_id: string } {
    return { code: this.code, message: this.message, errors: [...this.errors], decision_id: this.decisionId };
  }
}

/** Side effects a decision found it needs, committed only once the final answer is known. */
interface Planned {
  result: AuthorizeResult;
  request?: EffectRequest;
  /** Facts of the decision, for the hard deny a commit may turn it into. */
  facts?: Record<string, unknown>;
  /** The goal's budget (allow only). */
  budget?: GovernanceOutcome['commit'];
  /** Consume the approval (approved allow) or open the request (hold). */
  approval?: () => Promise<void>;
  /** Acting forbids of a deny. */
  acting?: Array<{ policy: string; effect: 'quarantine' | 'revoke' | 'escalate' }>;
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
   * Decides one input. A request Argus refuses (ids, unknown action or entity type, reserved
   * context key) is recorded as a deny carrying the refusal code, then thrown as
   * `DecisionRefusedError` (a 400 naming the path, with the record's `decision_id`). Every other
   * failure — registry or governance unreachable, timeout, engine error — is a deny with the reason.
   *
   * Steps: check the request → plan (facts, governance, usage, Cedar, approval lookup: reads only,
   * bounded by the decision timeout) → commit the side effects the final answer needs (budget,
   * approval, acting forbids, quota counts; never after a timeout) → record.
   */
  async decide(input: AuthorizeInput, options: DecideOptions, shared: AuthorizeInput['entities'] = []): Promise<AuthorizeResponse> {
    const started = performance.now();
    const now = this.clock();
    const decisionId = this.newId();
    const active = this.deps.policies.current;
    const explain = options.explain ?? 'reasons';
    let result: AuthorizeResult;
    let refused: DecisionRefusedError | undefined;
    const shadowed: { flip?: ShadowFlip; related: { id?: string } } = { related: {} };
    try {
      checkInputStrings(input, shared ?? []);
      if (!active) {
        result = deny([{ code: 'no_policy_set', message: 'no policy set is loaded' }], ['no_policy_set'], undefined, 'no policy set is loaded');
      } else {
        this.checkRequest(input, active.set, shared ?? []);
        const planned = await this.withTimeout(this.plan(input, now, explain, active.set, shared ?? [], decisionId, shadowed));
        // INVARIANT: side effects are committed here only, after the plan finished within the
        // timeout; a timed-out plan is answered with a deny and its effects are never committed.
        // An anonymous caller (`auth.decisions: open`) and a what-if get the same decision; none of its side effects happens.
        result = planned.timedOut ? planned.result : options.caller.kind === 'anonymous' || options.whatIf ? skipSideEffects(planned, Boolean(this.deps.effects?.counted)) : await this.commit(planned);
      }
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      const reason = err instanceof RequestRefusedError ? err.reason : 'invalid_request';
      refused = new DecisionRefusedError(decisionId, reason, err);
      result = deny([{ code: reason, message: err.message }], [reason], undefined, `request refused: ${err.message}`);
    }
    const response: AuthorizeResponse = { decision_id: decisionId, policy_version: active?.set.version ?? 'none', result };
    await this.finish(response, refused ? recordableInput(input) : input, options, now, started, shadowed);
    if (refused) throw refused;
    return response;
  }

  /** The version of the policy set decisions are made with now (`none` when no set is loaded). */
  policyVersion(): string {
    return this.deps.policies.current?.set.version ?? 'none';
  }

  /**
   * Records a request refused before it reached `decide` (a body that does not match the schema):
   * a deny carrying `invalid_request`, so every decision request leaves a record. Answers the
   * error to throw, carrying the record's `decision_id`.
   */
  async refuse(raw: unknown, error: InvalidInputError, options: DecideOptions): Promise<DecisionRefusedError> {
    const started = performance.now();
    const now = this.clock();
    const decisionId = this.newId();
    const reason = error instanceof RequestRefusedError ? error.reason : refusalOf(error);
    const result = deny([{ code: reason, message: error.message }], [reason], undefined, `request refused: ${error.message}`);
    const response: AuthorizeResponse = { decision_id: decisionId, policy_version: this.deps.policies.current?.set.version ?? 'none', result };
    const input = recordableInput((raw as { input?: unknown } | undefined)?.input ?? raw);
    await this.finish(response, input, options, now, started, { related: {} });
    return new DecisionRefusedError(decisionId, reason, error);
  }

  private async finish(
    response: AuthorizeResponse,
    input: AuthorizeInput,
    options: DecideOptions,
    now: Date,
    started: number,
    shadowed: { flip?: ShadowFlip; related: { id?: string } },
  ): Promise<void> {
    const { result } = response;
    const latencyMs = performance.now() - started;
    this.decisions.inc({ decision: result.decision, caller: options.caller.kind });
    this.latency.observe({ caller: options.caller.kind }, latencyMs / 1000);
    if (this.deps.seen && !options.whatIf && options.caller.kind !== 'anonymous' && input.principal?.type === 'Agent' && registeredIn(result)) this.deps.seen(input.principal.id);
    if (options.audit !== false && !options.whatIf && this.deps.recorder) {
      const shadow = shadowed.flip ? { shadow: { candidateVersion: shadowed.flip.candidateVersion, from: shadowed.flip.from, to: shadowed.flip.to, candidatePolicies: shadowed.flip.candidatePolicies } } : {};
      await this.deps.recorder.record({
        decisionId: response.decision_id,
        time: now.toISOString(),
        caller: options.caller,
        input,
        result,
        policyVersion: response.policy_version,
        latencyMs,
        ...shadow,
        ...(shadowed.related.id ? { relatedDecisionId: shadowed.related.id } : {}),
      });
    }
  }

  /** The checks that refuse a request outright (400): action, reserved context keys, entity types. */
  private checkRequest(input: AuthorizeInput, set: NonNullable<PolicyReader['current']>['set'], shared: NonNullable<AuthorizeInput['entities']>): void {
    const action: EntityUid = { type: qualify('Action'), id: input.action };
    if (!set.actions.has(uidKey(action))) {
      throw new RequestRefusedError('unknown_action', `unknown action \`${input.action}\``, [{ path: '/input/action', message: `\`${input.action}\` is not an action of the schema` }]);
    }
    for (const key of Object.keys(input.context ?? {})) {
      if ((RESERVED_CONTEXT_KEYS as readonly string[]).includes(key)) {
        throw new RequestRefusedError('reserved_context_key', `context key \`${key}\` is set by Argus`, [{ path: `/input/context/${key}`, message: 'reserved context key; use the top-level field instead' }]);
      }
    }
    checkType(input.principal.type, '/input/principal/type', set.entityTypes);
    checkType(input.resource.type, '/input/resource/type', set.entityTypes);
    shared.forEach((e, i) => checkType(e.uid.type, `/entities/${i}/uid/type`, set.entityTypes));
    (input.entities ?? []).forEach((e, i) => checkType(e.uid.type, `/input/entities/${i}/uid/type`, set.entityTypes));
  }

  private async withTimeout(work: Promise<Planned>): Promise<Planned & { timedOut?: true }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Planned & { timedOut: true }>((resolve) => {
      timer = setTimeout(() => {
        const message = `facts not resolved within ${this.deps.decisionTimeoutMs} ms`;
        resolve({ result: deny([{ code: 'decision_timeout', message }], ['decision_timeout'], undefined, `hard deny: ${message}`), timedOut: true });
      }, this.deps.decisionTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads everything the decision needs and decides; writes nothing (see `commit`). */
  private async plan(
    input: AuthorizeInput,
    now: Date,
    explain: ExplainLevel,
    set: NonNullable<PolicyReader['current']>['set'],
    shared: NonNullable<AuthorizeInput['entities']>,
    decisionId: string,
    shadowed: { flip?: ShadowFlip; related: { id?: string } },
  ): Promise<Planned> {
    const action: EntityUid = { type: qualify('Action'), id: input.action };
    // INVARIANT: switches are checked before any read or policy: a kill switch must not depend on
    // the registry being reachable or the policies being right.
    const stopped = this.deps.switches?.check(input);
    if (stopped) return { result: switchDeny(stopped) };
    try {
      const { entities, facts: registryFacts } = await buildEntities(input, this.deps.registry, set.entityTypes, shared);
      const principal = toUid(input.principal);
      const codes: DenyCode[] = [];
      const requireRegistered = this.deps.requireRegistered ?? this.deps.registry.requireRegistered ?? false;
      const unregisteredAgent = shortType(principal.type) === 'Agent' && !registryFacts.agent.registered;
      if (requireRegistered && unregisteredAgent) codes.push('agent_unknown');
      if (registryFacts.agent.trust === 'revoked') codes.push('agent_revoked');
      if (registryFacts.agent.trust === 'quarantined') codes.push('agent_quarantined');
      if (registryFacts.agent.lease === 'unknown') codes.push('lease_unknown');
      const facts: Record<string, unknown> = { agent: registryFacts.agent, resource: registryFacts.resource };
      if (registryFacts.ignored.length > 0) facts.ignored = registryFacts.ignored;
      if (unregisteredAgent && !requireRegistered) {
        facts.registry = { requireRegistered: false, note: 'registry.requireRegistered is off (quick start): an unregistered agent is decided by the policies' };
      }
      if (codes.length > 0) return { result: deny([], codes, facts, hardDenySentence(codes, input)) };

      const governance = await this.governance(input, now, principal, explain);
      Object.assign(facts, governance.facts);
      if (governance.hardDeny) return { result: deny([], governance.hardDeny.codes, facts, governance.hardDeny.message) };
      // A delegation token's chain is known only now: an agent stopped anywhere in it stops this decision too.
      const chainStop = this.deps.switches?.checkAgents?.(governance.entities.filter((e) => shortType(e.uid.type) === 'Agent').map((e) => e.uid.id));
      if (chainStop) return { result: switchDeny(chainStop) };
      for (const e of governance.entities) if (!entities.has(uidKey(e.uid))) entities.set(uidKey(e.uid), e);
      const principalEntity = entities.get(uidKey(principal));
      if (principalEntity) principalEntity.parents = [...principalEntity.parents, ...governance.principalParents];

      const resource = toUid(input.resource);
      const usage = this.deps.effects?.usage ? await this.deps.effects.usage({ input, principal, action, resource, now, context: governance.context }) : undefined;
      const spent = usage ? this.deps.effects?.exhausted?.(usage) : undefined;
      if (spent) return { result: deny([], spent.codes, facts, spent.message) };
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
      const decision = evaluate(set, cedarRequest, {
        validateRequest: this.deps.validateRequest ?? false,
        ...(this.deps.memo ? { memo: this.deps.memo } : {}),
        ...(this.deps.compiled !== undefined ? { compiled: this.deps.compiled } : {}),
      });
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
      if (decision.decision === 'deny') {
        result.summary = denySummary(decision, cedarRequest);
        if (explain === 'full' && decision.determining.length === 0) Object.assign(result.explanation!, explainDeny(set, cedarRequest));
      }
      const request: EffectRequest = { decisionId, input, principal, action, resource, context, now, related: shadowed.related };
      if (result.allow) {
        const obligations = mergeObligations(decision.determining);
        if (Object.keys(obligations).length > 0) result.obligations = obligations;
      }
      const planned: Planned = { result, request, facts };
      if (result.allow && governance.commit) planned.budget = governance.commit;
      if (decision.needsApproval) {
        const gating = decision.determining.filter((p) => p.enforcement === 'require_approval').map((p) => p.id);
        request.approvalContextKeys = contextKeysRead(set, gating);
        const commit = await this.planApproval(result, request, gating);
        if (commit) planned.approval = commit;
        // A hold spends nothing: the budget is consumed by the approved retry.
        if (!result.allow) delete planned.budget;
      }
      const acting = actingForbids(decision);
      if (acting.length > 0) planned.acting = acting;
      return planned;
    } catch (err) {
      return { result: this.failClosed(err) };
    }
  }

  /** Commits the side effects the final answer needs, in one place: quota counts, budget, approval, acting forbids. */
  private async commit(planned: Planned): Promise<AuthorizeResult> {
    const { result, request } = planned;
    if (!request) return result;
    try {
      // Quotas first: a quota at its limit denies before any budget or approval is spent.
      const quota = this.deps.effects?.counted ? await this.deps.effects.counted(request, result) : undefined;
      if (quota) return deny([], quota.codes, planned.facts, quota.message);
      if (result.allow && planned.budget) {
        const refused = await planned.budget();
        if (refused) return deny([], refused.codes, planned.facts, refused.message);
      }
      if (planned.approval) await planned.approval();
      if (planned.acting) {
        result.effects = this.deps.effects?.act ? await this.deps.effects.act(request, planned.acting, result) : planned.acting.map((w) => ({ ...w, status: 'failed' as const }));
      }
      return result;
    } catch (err) {
      return this.failClosed(err);
    }
  }

  private failClosed(err: unknown): AuthorizeResult {
    if (err instanceof InvalidInputError) throw err;
    const refusal = (err as { reason?: unknown; approvalId?: unknown }).reason;
    if (err instanceof ArgusError && isApprovalRefusalCode(refusal)) {
      return deny([{ code: refusal, message: err.message }], [refusal], undefined, err.message);
    }
    const code = err instanceof ArgusError ? err.code : 'internal_error';
    this.deps.logger.warn({ code, err: err instanceof Error ? err.message : String(err) }, 'decision failed closed');
    const reason = code === 'unavailable' ? 'facts_unavailable' : 'internal_error';
    return deny([{ code, message: err instanceof ArgusError ? err.message : 'internal error while deciding' }], [reason], undefined, `hard deny: ${reason}`);
  }

  /**
   * Turns an approval-gated allow into `needs_approval`, unless a matching approval was given.
   * Answers what to commit: consuming the approval, or opening the request.
   */
  private async planApproval(result: AuthorizeResult, request: EffectRequest, policies: string[]): Promise<(() => Promise<void>) | undefined> {
    const hold = (): void => {
      result.allow = false;
      result.decision = 'needs_approval';
      delete result.obligations;
    };
    if (!this.deps.effects?.approval) {
      hold();
      result.decision = 'deny';
      result.codes = [...(result.codes ?? []), 'approval_unavailable'];
      result.summary = 'hard deny: approval_unavailable — an approval-gated permit matched and no approval store is configured';
      return undefined;
    }
    const answer = await this.deps.effects.approval(request, policies);
    if (answer.status === 'approved') {
      result.approval = { id: answer.id, status: 'approved' };
      if (answer.relatedDecisionId && request.related) request.related.id = answer.relatedDecisionId;
      return answer.commit;
    }
    hold();
    result.approval = { id: answer.id, expiresAt: answer.expiresAt, status: 'pending' };
    result.summary = `held for approval \`${answer.id}\` by ${policies.map((p) => `\`${p}\``).join(', ')}`;
    return answer.commit;
  }

  private async governance(input: AuthorizeInput, now: Date, principal: EntityUid, explain: ExplainLevel): Promise<GovernanceOutcome> {
    if (this.deps.governance) return this.deps.governance({ input, now, principal, explain });
    if (input.delegation || input.delegationToken || input.goal) {
      return { hardDeny: { codes: ['governance_unavailable'], message: 'delegation and goal checks are not configured' }, principalParents: [], entities: [], context: {}, facts: {} };
    }
    return { principalParents: [], entities: [], context: { intent: input.intent ?? '', delegation: { depth: 0, scope: [] } }, facts: {} };
  }
}

/** The refusal code of a body that failed its schema: `invalid_id` when an id is at fault, else `invalid_request`. */
function refusalOf(error: InvalidInputError): DenyCode {
  return error.errors.some((e) => /^\/input\/(?:.*\/id|goal|approval)$/.test(e.path)) ? 'invalid_id' : 'invalid_request';
}

function actingForbids(decision: EngineDecision): Array<{ policy: string; effect: 'quarantine' | 'revoke' | 'escalate' }> {
  if (decision.decision !== 'deny') return [];
  return decision.determining
    .filter((p) => p.enforcement === 'quarantine' || p.enforcement === 'revoke' || p.enforcement === 'escalate')
    .map((p) => ({ policy: p.id, effect: p.enforcement as 'quarantine' | 'revoke' | 'escalate' }));
}

const HARD_DENY_TEXT: Partial<Record<DenyCode, (input: AuthorizeInput) => string>> = {
  agent_unknown: (i) => `agent \`${i.principal.id}\` is not registered (registry.requireRegistered is on)`,
  agent_revoked: (i) => `agent \`${i.principal.id}\` is revoked`,
  agent_quarantined: (i) => `agent \`${i.principal.id}\` is quarantined`,
  lease_unknown: () => 'the agent\'s lease could not be read',
};

/** The hard deny of a stopped switch (or of switches that cannot be read), with the switch in the facts. */
function switchDeny(verdict: SwitchVerdict): AuthorizeResult {
  const facts = verdict.code === 'switch_stopped' ? { switch: verdict.switch } : {};
  return deny([], [verdict.code], facts, `hard deny: ${verdict.code} — ${verdict.message}`);
}

function hardDenySentence(codes: DenyCode[], input: AuthorizeInput): string {
  return `hard deny: ${codes.map((c) => `${c} — ${HARD_DENY_TEXT[c]?.(input) ?? c}`).join('; ')}`;
}

function deny(errors: AuthorizeResult['errors'], codes: DenyCode[] = [], facts?: Record<string, unknown>, message?: string): AuthorizeResult {
  const result: AuthorizeResult = { allow: false, decision: 'deny', reasons: [], errors };
  if (codes.length > 0) result.codes = codes;
  if (facts) result.facts = message ? { ...facts, hardDeny: message } : facts;
  if (message) result.summary = message.startsWith('hard deny') || message.startsWith('request refused') ? message : `hard deny: ${codes.join(', ')} — ${message}`;
  return result;
}

/**
 * The answer to an anonymous caller: the planned decision with every side effect it would have
 * caused (budget, approval hold or consumption, quarantine/revoke/escalate, quota count) reported
 * as `skipped` and none carried out. A given approval is not consumed, so the request stays held.
 */
function skipSideEffects(planned: Planned, counted: boolean): AuthorizeResult {
  const { result } = planned;
  const skipped: NonNullable<AuthorizeResult['effects']> = [];
  const policy = result.reasons[0]?.policy ?? '';
  if (planned.budget && result.allow) skipped.push({ policy, effect: 'budget', status: 'skipped' });
  if (planned.approval) {
    skipped.push({ policy, effect: 'require_approval', status: 'skipped' });
    if (result.allow) {
      result.allow = false;
      result.decision = 'needs_approval';
      delete result.obligations;
    }
    delete result.approval;
  }
  for (const a of planned.acting ?? []) skipped.push({ policy: a.policy, effect: a.effect, status: 'skipped' });
  if (counted && planned.request) skipped.push({ policy, effect: 'quota', status: 'skipped' });
  if (skipped.length > 0) result.effects = skipped;
  return result;
}

/** Whether the decision found its Agent principal in the registry (`facts.agent.registered`). */
function registeredIn(result: AuthorizeResult): boolean {
  const agent = (result.facts as { agent?: { registered?: unknown } } | undefined)?.agent;
  return agent?.registered === true;
}
