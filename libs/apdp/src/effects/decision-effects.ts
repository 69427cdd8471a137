/**
 * The `DecisionEffects` of the decision service: human approvals for `require_approval` permits,
 * the acting forbids (`quarantine`, `revoke`, `escalate`), and quota counters for
 * `context.usage`.
 */
import { randomUUID } from 'node:crypto';
import type { ApprovalRefusalCode, AuthorizeResult } from '@argus/contracts';
import type { CedarValue, EntityUid } from '@argus/engine';
import { ArgusError, Counter, metric, type Registry } from '@argus/platform';
import {
  TOPICS,
  type Agent,
  type EventBus,
  type RegistryChangedEvent,
  type RegistryStore,
  type TrustState,
  type WindowCounter,
  type WindowSpec,
} from '@argus/store';
import type { Logger } from 'pino';
import type { DecisionEffects, EffectRequest } from '@argus/decision';
import {
  consumeRefusal,
  contextDigest,
  isRequester,
  type ApprovalBinding,
  type ApprovalRefusal,
  type ApprovalRequest,
  type ApprovalStore,
} from '@argus/store';
import { quotaRules, type EffectsConfig, type QuotaKeyPart, type QuotaRule, type QuotaSettings } from './config.ts';
import type { EscalationJob, EscalationQueue } from './escalation.ts';

/** The windows behind `context.usage`, by key. */
export const USAGE_WINDOWS = { calls_last_minute: 60_000, calls_last_hour: 3_600_000 } as const;

/**
 * Why a retry naming an approval was refused, as a stable reason code: the catalogue's
 * `ApprovalRefusalCode` (`@argus/contracts`), one per refusal of the approval store.
 */
export type { ApprovalRefusalCode };

/** The catalogued code of each refusal of the approval store (a refusal without one is a compile error). */
const REFUSAL_CODE: Record<Exclude<ApprovalRefusal, 'pending'>, ApprovalRefusalCode> = {
  unknown: 'approval_unknown',
  mismatch: 'approval_mismatch',
  consumed: 'approval_consumed',
  rejected: 'approval_rejected',
  expired: 'approval_expired',
};

/**
 * A retry named an approval that cannot grant it (unknown, spent, rejected, expired, or bound to
 * another principal, action, resource or context). The decision service fails closed on it: the
 * decision is a deny, with `reason` as the code.
 */
export class ApprovalRefusedError extends ArgusError {
  constructor(
    readonly reason: ApprovalRefusalCode,
    readonly approvalId: string,
  ) {
    super('forbidden', `approval \`${approvalId}\` refused: ${REFUSAL_TEXT[reason]}`);
  }
}

const REFUSAL_TEXT: Record<ApprovalRefusalCode, string> = {
  approval_unknown: 'no such approval request',
  approval_mismatch: 'it was granted for another principal, action, resource or context',
  approval_consumed: 'it was already used',
  approval_rejected: 'it was rejected',
  approval_expired: 'it expired',
};

/** Collaborators of {@link createDecisionEffects}. */
export interface DecisionEffectsDeps {
  approvals: ApprovalStore;
  /** Where acting forbids move the agent (`setTrust`), and read it back when the move is refused. */
  registry: Pick<RegistryStore, 'setTrust' | 'getAgent'>;
  /** `registry.changed` is published after a trust move, so every replica's cache drops the agent. */
  events: EventBus;
  /** Unset: `escalate` effects are reported `failed`. */
  escalation?: EscalationQueue;
  /** Unset (or `quotas.enabled: false`): `context.usage` is absent and rules reading it deny. */
  counters?: WindowCounter;
  /**
   * Where the built-in `calls_last_minute|hour` are counted when not in `counters`: the embedded
   * mode keeps them in memory (a SQLite write per allowed decision costs ~0.2 ms on the event
   * loop) and only the named quotas in the file. Default: `counters`.
   */
  builtinCounters?: WindowCounter;
  /**
   * The agent's owner and labels, for the `human` (owner fallback) and `tenant` quota keys; read
   * only when a rule needs them. Default: `registry.getAgent` (pass the cached registry view).
   */
  agentOf?: (id: string) => Promise<Pick<Agent, 'owner' | 'labels'> | undefined>;
  /** Accepted for symmetry with the router; the hooks use the time of the decision they serve (`request.now`). */
  clock?: () => Date;
  logger: Logger;
  /** The `effects` section's approvals and quotas (rules may be left out where there are none). */
  config: { approvals: EffectsConfig['approvals']; quotas: QuotaSettings };
  /** Approval request ids. Default `randomUUID`. */
  newId?: () => string;
  /** Counts effects by kind and outcome (`argus_effects_total`). */
  metrics?: Registry;
}

/** Context keys every approval is bound to when present: the governance facts (purpose, goal, chain). */
export const ALWAYS_BOUND_CONTEXT_KEYS: readonly string[] = ['intent', 'goal', 'delegation'];

/**
 * The binding of a request: who, what, on what, in which context — the context keys the gating
 * policies read plus the governance keys (`approvalContextKeys`), or the whole context when unknown.
 */
export function bindingOf(
  request: Pick<EffectRequest, 'principal' | 'action' | 'resource' | 'context' | 'approvalContextKeys'>,
): ApprovalBinding {
  const keys = request.approvalContextKeys;
  const context = request.context as Record<string, unknown>;
  const bound =
    keys === undefined || keys === 'all'
      ? context
      : Object.fromEntries(Object.entries(context).filter(([k]) => keys.includes(k) || ALWAYS_BOUND_CONTEXT_KEYS.includes(k)));
  return {
    principal: { type: request.principal.type, id: request.principal.id },
    action: request.action.id,
    resource: { type: request.resource.type, id: request.resource.id },
    contextDigest: contextDigest(bound),
  };
}

/** The quota counter key of (agent, action, resource). */
export function usageKey(principal: EntityUid, action: EntityUid, resource: EntityUid): string {
  return `usage:${JSON.stringify([principal.type, principal.id, action.id, resource.type, resource.id])}`;
}

/** A named quota that applies to one request, with the counter it hits. */
export interface AppliedQuota {
  rule: QuotaRule;
  /** The counter key: the rule's name and the request's value of each key part. */
  key: string;
}

/** What the quota keys of one request are read from. */
type QuotaRequest = Pick<EffectRequest, 'input' | 'principal' | 'action' | 'resource'> & { context?: Record<string, CedarValue> };

/** Whether `rule.actions` (exact ids, or prefixes ending in `*`) admits `action`. */
export function ruleCounts(rule: Pick<QuotaRule, 'actions'>, action: string): boolean {
  return rule.actions === undefined || rule.actions.some((a) => (a.endsWith('*') ? action.startsWith(a.slice(0, -1)) : a === action));
}

/** The human at the root of the delegation chain governance resolved (`context.delegation.root`). */
function chainRoot(context: Record<string, CedarValue> | undefined): string | undefined {
  const root = (context?.delegation as { root?: { __entity?: { id?: unknown } } } | undefined)?.root?.__entity?.id;
  return typeof root === 'string' ? root : undefined;
}

/**
 * The named quotas that count `request`, each with its counter key. A rule applies when it counts
 * the action and the request has a value for every part of its key: `human` is the root of the
 * delegation chain, else the agent's owner (else the Human principal); `tenant` is the agent's
 * `tenant` label. The agent is read only when a rule needs it.
 */
export async function appliedQuotas(
  rules: readonly QuotaRule[],
  request: QuotaRequest,
  agentOf: (id: string) => Promise<Pick<Agent, 'owner' | 'labels'> | undefined>,
): Promise<AppliedQuota[]> {
  const counting = rules.filter((r) => ruleCounts(r, request.action.id));
  if (counting.length === 0) return [];
  const isAgent = /(^|::)Agent$/.test(request.principal.type);
  const root = chainRoot(request.context);
  const needsAgent = isAgent && counting.some((r) => r.key.includes('tenant') || (r.key.includes('human') && root === undefined));
  const agent = needsAgent ? await agentOf(request.principal.id) : undefined;
  const human = root ?? (isAgent ? agent?.owner : /(^|::)Human$/.test(request.principal.type) ? request.principal.id : undefined);
  const value: Record<QuotaKeyPart, string | undefined> = {
    principal: `${request.principal.type}::${request.principal.id}`,
    human,
    goal: request.input.goal,
    tenant: agent?.labels.tenant,
    resource: `${request.resource.type}::${request.resource.id}`,
    action: request.action.id,
    intent: request.input.intent || undefined,
  };
  return counting.flatMap((rule) => {
    const parts = rule.key.map((k) => value[k]);
    if (parts.some((p) => p === undefined)) return [];
    return [{ rule, key: `quota:${rule.name}:${JSON.stringify(parts)}` }];
  });
}

/** A window in the unit it was most likely written in, for messages: `1d`, `90s`, `1500ms`. */
function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The hard deny of quotas at their limit, naming each. */
function quotaRefusal(over: readonly QuotaRule[]): { codes: ['quota_exceeded']; message: string } {
  return {
    codes: ['quota_exceeded'],
    message: over.map((r) => `quota \`${r.name}\` allows ${r.limit} per ${formatWindow(r.windowMs)} and is used up`).join('; '),
  };
}

/** Builds the effects hooks for `DecisionService`. */
export function createDecisionEffects(deps: DecisionEffectsDeps): Required<DecisionEffects> {
  const newId = deps.newId ?? randomUUID;
  const counters = deps.config.quotas.enabled ? deps.counters : undefined;
  const builtin = counters ? (deps.builtinCounters ?? counters) : undefined;
  const rules = quotaRules(deps.config);
  const agentOf = deps.agentOf ?? ((id: string) => deps.registry.getAgent(id));
  const legacySpecs = (request: QuotaRequest): WindowSpec[] => {
    const key = usageKey(request.principal, request.action, request.resource);
    return [
      { key, windowMs: USAGE_WINDOWS.calls_last_minute },
      { key, windowMs: USAGE_WINDOWS.calls_last_hour },
    ];
  };
  const effectsTotal = deps.metrics
    ? metric(
        deps.metrics,
        'argus_effects_total',
        () =>
          new Counter({
            name: 'argus_effects_total',
            help: 'Effects carried out by decisions, by kind and outcome',
            labelNames: ['effect', 'status'],
            registers: [deps.metrics!],
          }),
      )
    : undefined;
  const count = (effect: string, status: string) => effectsTotal?.inc({ effect, status });

  async function moveTrust(
    request: EffectRequest,
    policy: string,
    to: Extract<TrustState, 'quarantined' | 'revoked'>,
  ): Promise<'applied' | 'failed'> {
    const id = request.principal.id;
    if (!/(^|::)Agent$/.test(request.principal.type)) return 'failed';
    let agent: Agent | undefined;
    try {
      agent = (await deps.registry.setTrust('agent', id, { to, by: `policy:${policy}`, reason: `decision ${request.decisionId}` })).record;
    } catch (err) {
      // Already there (or revoked, which is harder than quarantine): the effect holds.
      agent = await deps.registry.getAgent(id).catch(() => undefined);
      if (!agent || !(agent.trust === to || agent.trust === 'revoked')) {
        deps.logger.warn(
          { decisionId: request.decisionId, policy, effect: to, err: err instanceof Error ? err.message : String(err) },
          'trust move failed',
        );
        return 'failed';
      }
    }
    const event: RegistryChangedEvent = { kind: 'agent', id, change: 'trust', trust: agent.trust };
    try {
      await deps.events.publish(TOPICS.registryChanged, event);
    } catch (err) {
      // The store holds the move; other replicas see it when their cache entry expires.
      deps.logger.warn(
        { decisionId: request.decisionId, policy, err: err instanceof Error ? err.message : String(err) },
        'registry.changed not published after a trust move',
      );
    }
    return 'applied';
  }

  async function escalate(request: EffectRequest, policy: string, result: AuthorizeResult): Promise<'applied' | 'failed'> {
    if (!deps.escalation) return 'failed';
    const job: EscalationJob = {
      decisionId: request.decisionId,
      policy,
      time: request.now.toISOString(),
      principal: { type: request.principal.type, id: request.principal.id },
      action: request.action.id,
      resource: { type: request.resource.type, id: request.resource.id },
      ...(request.input.intent !== undefined ? { intent: request.input.intent } : {}),
      ...(request.input.goal !== undefined ? { goal: request.input.goal } : {}),
      result: {
        decision: result.decision,
        reasons: result.reasons,
        errors: result.errors,
        ...(result.codes ? { codes: result.codes } : {}),
      },
    };
    try {
      await deps.escalation.enqueue(job);
      return 'applied';
    } catch (err) {
      deps.logger.warn(
        { decisionId: request.decisionId, policy, err: err instanceof Error ? err.message : String(err) },
        'escalation not queued',
      );
      return 'failed';
    }
  }

  return {
    async approval(request, policies) {
      const subject = request.caller?.subject;
      /**
       * The commit of a held decision handed a request already open: its caller is recorded as
       * another requester (the requester rule holds for every caller that asked, not only the
       * first). Nothing to write when it is recorded already, or the caller has no subject.
       */
      const askedAgain = (open: ApprovalRequest): { commit?: () => Promise<void> } => {
        if (!subject || isRequester(open, { kind: request.caller!.kind, subject }) || open.requestersOverflow) return {};
        const requester = { kind: request.caller!.kind, subject };
        return {
          commit: async () => {
            // Answered or expired meanwhile: nothing to record, the retry finds it so.
            await deps.approvals.addRequester(open.id, requester, request.now);
          },
        };
      };
      // Reads only: what is written (consume, or open a request) waits in `commit` until the
      // decision service knows the final answer and the decision did not time out.
      const binding = bindingOf(request);
      const asked = request.input.approval;
      if (asked !== undefined) {
        const found = await deps.approvals.get(asked, request.now);
        const refusal = found ? consumeRefusal(found, binding, request.now) : 'unknown';
        if (refusal === 'pending' && found) return { status: 'pending', id: asked, expiresAt: found.expiresAt, ...askedAgain(found) };
        if (refusal !== undefined) {
          count('approval', 'refused');
          throw new ApprovalRefusedError(REFUSAL_CODE[refusal === 'pending' ? 'unknown' : refusal], asked);
        }
        return {
          status: 'approved',
          id: asked,
          relatedDecisionId: found!.decisionId,
          commit: async () => {
            // INVARIANT: the consume is atomic across replicas; losing a race to another retry refuses this one.
            const outcome = await deps.approvals.consume(asked, { binding, decisionId: request.decisionId, at: request.now });
            if (!outcome.ok) {
              count('approval', 'refused');
              throw new ApprovalRefusedError(REFUSAL_CODE[outcome.reason === 'pending' ? 'unknown' : outcome.reason], asked);
            }
            count('approval', 'approved');
          },
        };
      }
      const open = await deps.approvals.findPending(binding, request.now);
      if (open) return { status: 'pending', id: open.id, expiresAt: open.expiresAt, ...askedAgain(open) };
      const id = newId();
      const expiresAt = new Date(request.now.getTime() + deps.config.approvals.ttlMs).toISOString();
      const root = chainRoot(request.context);
      return {
        status: 'pending',
        id,
        expiresAt,
        commit: async () => {
          await deps.approvals.create({
            ...binding,
            id,
            decisionId: request.decisionId,
            policies,
            ...(request.input.intent !== undefined ? { intent: request.input.intent } : {}),
            ...(request.input.goal !== undefined ? { goal: request.input.goal } : {}),
            ...(subject ? { requestedBy: { kind: request.caller!.kind, subject } } : {}),
            ...(root !== undefined ? { root } : {}),
            createdAt: request.now.toISOString(),
            expiresAt,
          });
          count('approval', 'requested');
        },
      };
    },

    async act(request, effects, result) {
      const out: Array<{ policy: string; effect: string; status: 'applied' | 'failed' }> = [];
      // INVARIANT: in order, so `quarantine` then `revoke` ends revoked (quarantined → revoked is legal).
      for (const { policy, effect } of effects) {
        const status =
          effect === 'escalate'
            ? await escalate(request, policy, result)
            : await moveTrust(request, policy, effect === 'quarantine' ? 'quarantined' : 'revoked');
        count(effect, status);
        out.push({ policy, effect, status });
      }
      return out;
    },

    async usage(request) {
      if (!counters || !builtin) return undefined;
      try {
        const applied = await appliedQuotas(rules, request, agentOf);
        const specs = applied.map((a) => ({ key: a.key, windowMs: a.rule.windowMs }));
        const [[minute, hour, ...shared], own] = await Promise.all([
          builtin.countAll(builtin === counters ? [...legacySpecs(request), ...specs] : legacySpecs(request)),
          builtin === counters || specs.length === 0 ? Promise.resolve([]) : counters.countAll(specs),
        ]);
        const named = builtin === counters ? shared : own;
        const usage: Record<string, CedarValue> = { calls_last_minute: minute!, calls_last_hour: hour! };
        applied.forEach((a, i) => (usage[a.rule.name] = named[i]!));
        return usage;
      } catch (err) {
        deps.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'usage counters unreadable: rules reading context.usage deny',
        );
        return undefined;
      }
    },

    async counted(request, result) {
      if (!counters || !builtin || !result.allow) return undefined;
      const legacy = legacySpecs(request);
      // Not awaited: counting is after the fact and must not add a round trip to the answer.
      // INVARIANT: a process's hits and reads go over one connection in order (or run
      // synchronously in memory and SQLite), so this process's next `usage()` read sees this hit.
      const countBuiltin = () =>
        void builtin.hitAll(legacy).catch((err: unknown) => {
          // The next read fails too (and denies) while the counter is down.
          deps.logger.warn({ decisionId: request.decisionId, err: err instanceof Error ? err.message : String(err) }, 'usage not counted');
        });
      const applied = rules.length > 0 ? await appliedQuotas(rules, request, agentOf) : [];
      if (applied.length === 0) return void countBuiltin();
      // Named quotas are exact: one atomic check-and-record over every counter, awaited. A counter
      // at its limit refuses them all, and the allow becomes a deny; a counter that cannot be
      // written throws, and the decision fails closed.
      const named = applied.map((a) => ({
        key: a.key,
        windowMs: a.rule.windowMs,
        ...(a.rule.limit !== undefined ? { limit: a.rule.limit } : {}),
      }));
      const hit = await counters.hitAll(builtin === counters ? [...named, ...legacy] : named);
      if (hit.allowed && builtin !== counters) countBuiltin();
      if (hit.allowed) {
        count('quota', 'counted');
        return undefined;
      }
      count('quota', 'refused');
      return quotaRefusal(hit.refused.map((i) => applied[i]!.rule));
    },

    limitsUsage: rules.some((r) => r.limit !== undefined),

    exhausted(usage) {
      const over = rules.filter((r) => r.limit !== undefined && typeof usage[r.name] === 'number' && (usage[r.name] as number) >= r.limit);
      if (over.length === 0) return undefined;
      count('quota', 'refused');
      return quotaRefusal(over);
    },
  };
}
