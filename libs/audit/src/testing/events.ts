/**
 * Decision events for tests and benchmarks: an allow, a deny, a hard deny and a proxied call,
 * each carrying a secret canary in places a value-free record must never copy.
 */
import type { DecisionEvent } from '@argus/contracts';

/** A value that must never appear in a record, a log line or a response. */
export const SECRET_CANARY = 'sk-CANARY-3f9a1c77e0b24d5b';

/** The kinds of sample events. */
export type SampleKind = 'allow' | 'deny' | 'hard_deny' | 'proxied';

/** Builds a sample event of `kind`; `n` varies its ids and time. */
export function makeDecisionEvent(kind: SampleKind = 'allow', n = 0, overrides: Partial<DecisionEvent> = {}): DecisionEvent {
  const base: DecisionEvent = {
    decisionId: `dec-${kind}-${n}`,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, 0) + n * 1000).toISOString(),
    caller: { kind: kind === 'proxied' ? 'proxy' : 'apdp', subject: 'svc-orders' },
    input: {
      principal: { type: 'Agent', id: n % 2 === 0 ? 'support-bot' : 'planner', attributes: { apiKey: SECRET_CANARY } },
      action: kind === 'proxied' ? 'llm:invoke' : 'tool:call',
      resource: {
        type: kind === 'proxied' ? 'Model' : 'Tool',
        id: kind === 'proxied' ? 'gpt-4o' : 'crm.search',
        attributes: { sensitivity: 'internal' },
      },
      intent: 'lookup-order-status',
      goal: 'goal-7f3a',
      delegation: [
        { type: 'Human', id: n % 3 === 0 ? 'alice' : 'bob' },
        { type: 'Agent', id: 'planner' },
        { type: 'Agent', id: 'support-bot' },
      ],
      context: { ssn: '123-45-6789', card: '4111111111111111', token: SECRET_CANARY, ticket: `T-${n}` },
    },
    result: {
      allow: kind === 'allow' || kind === 'proxied',
      decision: kind === 'allow' || kind === 'proxied' ? 'allow' : 'deny',
      reasons:
        kind === 'hard_deny'
          ? []
          : [
              {
                policy: kind === 'deny' ? 'forbid-secret-tools' : 'permit-support-lookup',
                effect: kind === 'deny' ? 'forbid' : 'permit',
                annotations: { reason: 'sample' },
              },
            ],
      errors: kind === 'deny' ? [{ policy: 'permit-broken', code: 'policy_error', message: 'attribute `clearance` missing' }] : [],
      ...(kind === 'hard_deny' ? { codes: ['agent_revoked', 'delegation_expired'] } : {}),
      facts: { delegation: { valid: kind !== 'hard_deny', depth: 2 }, secret: SECRET_CANARY },
    },
    policyVersion: 'v-abc123',
    latencyMs: 0.42,
    ...(kind === 'proxied'
      ? {
          proxy: {
            upstream: 'openai',
            status: 200,
            credentialName: 'openai-prod',
            usage: { inputTokens: 12, outputTokens: 30, totalTokens: 42, costUsd: 0.0012 },
          },
        }
      : {}),
  };
  return { ...base, ...overrides };
}
