import type {
  AuthorizeInput,
  AuthorizeResponse,
  AuthorizeResult,
  DecideOptions,
  DecisionPoint,
  DecisionRecorder,
  DenyCode,
  ExplainLevel,
} from '@argus/contracts';
import type { CompiledEvaluation, CompiledPolicySet, DecisionMemo } from '@argus/engine';
import { InvalidInputError, newDecisionId, type ErrorDetail, type Registry } from '@argus/platform';
import type { Logger } from 'pino';
import { applyGovernance, readUsage, type GovernanceStep } from './apply-governance.ts';
import { buildCedarRequest, readsContextKey } from './cedar-request.ts';
import { checkRequest, type CheckedRequest } from './check-request.ts';
import { commitEffects, planEffects, type DecisionEffects, type Planned } from './effects.ts';
import type { RegistryReader } from './entities.ts';
import { describeDecision, evaluatePolicies, type EvaluationOptions } from './evaluate-policies.ts';
import { deny, failClosed, isDenied, type Denied } from './outcome.ts';
import type { PolicyReader, ShadowPort } from './ports.ts';
import { decisionMetrics, record, type DecisionRun, type DecisionTrail, type RecordSinks } from './record.ts';
import { RequestRefusedError, recordableInput } from './request-checks.ts';
import { checkSwitches, resolveFacts, type SwitchReader } from './resolve-facts.ts';
import { DecisionCancelledError, unlessCancelled, withTimeout, type Cancellation } from './timeout.ts';

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
   * the decision is a deny, none of its side effects is committed and its remaining steps are cancelled.
   */
  decisionTimeoutMs: number;
  /**
   * Validate each request against the Cedar schema (types of attributes and context). Default false:
   * policies are validated at load, and per-request validation costs ~75% more per call.
   */
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
  switches?: SwitchReader;
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

/** The in-process decision point: the steps of README.md, in order. */
export class DecisionService implements DecisionPoint {
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly sinks: RecordSinks;
  private readonly evaluation: EvaluationOptions;

  constructor(private readonly deps: DecisionServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.newId = deps.newId ?? newDecisionId;
    this.sinks = {
      ...decisionMetrics(deps.metrics, deps.memo),
      ...(deps.recorder ? { recorder: deps.recorder } : {}),
      ...(deps.seen ? { seen: deps.seen } : {}),
    };
    this.evaluation = {
      validateRequest: deps.validateRequest ?? false,
      ...(deps.memo ? { memo: deps.memo } : {}),
      ...(deps.compiled !== undefined ? { compiled: deps.compiled } : {}),
      ...(deps.shadow ? { shadow: deps.shadow } : {}),
    };
  }

  /**
   * Decides one input. A request Argus refuses (ids, unknown action or entity type, reserved
   * context key) is recorded as a deny carrying the refusal code, then thrown as
   * `DecisionRefusedError` (a 400 naming the path, with the record's `decision_id`). Every other
   * failure — registry or governance unreachable, timeout, engine error — is a deny with the reason.
   */
  async decide(input: AuthorizeInput, options: DecideOptions, shared: AuthorizeInput['entities'] = []): Promise<AuthorizeResponse> {
    const run = this.start();
    const set = this.deps.policies.current?.set;
    const trail: DecisionTrail = { related: {} };
    let result: AuthorizeResult;
    let refused: DecisionRefusedError | undefined;
    try {
      const checked = checkRequest(input, shared ?? [], set);
      const planned = isDenied(checked)
        ? ended(checked)
        : await withTimeout(this.deps.decisionTimeoutMs, (cancellation) => this.plan(checked, run, options, trail, cancellation));
      // INVARIANT: side effects are committed here only, after the plan finished within the timeout.
      result = await commitEffects(planned, options, this.deps.effects, this.deps.logger);
    } catch (err) {
      refused = refusal(err, run.decisionId);
      result = refusedResult(refused);
    }
    const response: AuthorizeResponse = { decision_id: run.decisionId, policy_version: set?.version ?? 'none', result };
    await record(this.sinks, response, refused ? recordableInput(input) : input, options, run, trail);
    if (refused) throw refused;
    return response;
  }

  /**
   * Reads everything the decision needs and decides; writes nothing (see `commitEffects`). Each
   * step may end the decision with a deny; a timeout cancels the steps not yet started.
   */
  private async plan(
    checked: CheckedRequest,
    run: DecisionRun,
    options: DecideOptions,
    trail: DecisionTrail,
    cancellation: Cancellation,
  ): Promise<Planned> {
    const { deps } = this;
    const explain: ExplainLevel = options.explain ?? 'reasons';
    const stopped = checkSwitches(deps.switches, checked.input);
    if (stopped) return ended(stopped);
    try {
      const facts = await unlessCancelled(
        cancellation,
        resolveFacts(checked, deps.registry, deps.requireRegistered ?? deps.registry.requireRegistered ?? false),
      );
      if (isDenied(facts)) return ended(facts);
      const governed = await unlessCancelled(
        cancellation,
        applyGovernance(deps.governance, checked, facts, { now: run.now, explain }, deps.switches),
      );
      if (isDenied(governed)) return ended(governed);
      const usage = await unlessCancelled(
        cancellation,
        readUsage(deps.effects, checked, governed, run.now, this.needsUsage(checked.set, explain)),
      );
      if (isDenied(usage)) return ended(usage);
      const cedar = buildCedarRequest(checked, governed, usage, run.now, this.evaluation.validateRequest);
      const evaluated = evaluatePolicies(checked.set, cedar, this.evaluation);
      if (evaluated.flip) trail.flip = evaluated.flip;
      const result = describeDecision(evaluated.decision, checked.set, cedar, governed.facts, explain);
      return await planEffects(
        result,
        evaluated.decision,
        { checked, governed, cedar, decisionId: run.decisionId, related: trail.related, caller: options.caller },
        deps.effects,
      );
    } catch (err) {
      // Past the timeout the answer is already given: a cancelled plan is dropped, not logged.
      if (err instanceof DecisionCancelledError) return { result: deny([], ['decision_timeout']), timedOut: true };
      return { result: failClosed(err, deps.logger) };
    }
  }

  /**
   * Whether the decision reads `context.usage`: a policy of the live set or of the shadow candidate
   * can read it, a quota limit checks it, the schema check requires it, or the full explanation
   * shows the context. Otherwise the counters are not read (their read was ~3 % of the decision
   * thread's samples in a perf profile of the varied workload, whose policies read no usage).
   */
  private needsUsage(set: CompiledPolicySet | undefined, explain: ExplainLevel): boolean {
    return (
      explain === 'full' ||
      this.evaluation.validateRequest ||
      (this.deps.effects?.limitsUsage ?? true) ||
      readsContextKey(set, 'usage') ||
      readsContextKey(this.deps.shadow?.candidate, 'usage')
    );
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
    const run = this.start();
    const refused = new DecisionRefusedError(run.decisionId, error instanceof RequestRefusedError ? error.reason : refusalOf(error), error);
    const response: AuthorizeResponse = {
      decision_id: run.decisionId,
      policy_version: this.policyVersion(),
      result: refusedResult(refused),
    };
    const input = recordableInput((raw as { input?: unknown } | undefined)?.input ?? raw);
    await record(this.sinks, response, input, options, run, { related: {} });
    return refused;
  }

  private start(): DecisionRun {
    return { started: performance.now(), now: this.clock(), decisionId: this.newId() };
  }
}

/** A step's deny as a plan with nothing to commit. */
function ended(step: Denied): Planned {
  return { result: step.denied };
}

/** A refused request (400) as the error to throw; any other failure is rethrown. */
function refusal(err: unknown, decisionId: string): DecisionRefusedError {
  if (!(err instanceof InvalidInputError)) throw err;
  return new DecisionRefusedError(decisionId, err instanceof RequestRefusedError ? err.reason : 'invalid_request', err);
}

/** The deny recorded for a refused request. */
function refusedResult(refused: DecisionRefusedError): AuthorizeResult {
  return deny([{ code: refused.reason, message: refused.message }], [refused.reason], undefined, `request refused: ${refused.message}`);
}

/** The refusal code of a body that failed its schema: `invalid_id` when an id is at fault, else `invalid_request`. */
function refusalOf(error: InvalidInputError): DenyCode {
  return error.errors.some((e) => /^\/input\/(?:.*\/id|goal|approval)$/.test(e.path)) ? 'invalid_id' : 'invalid_request';
}
