import { randomUUID } from 'node:crypto';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizeInput, AuthorizeResponse, DecideOptions, DecisionPoint } from '@argus/contracts';

/** One policy of the test set: its Cedar text and the `reason` annotation reported on a match. */
export interface TestPolicy {
  text: string;
  reason?: string;
}

/**
 * A real, in-process Cedar decision point for tests: evaluates `input` against `policies` with
 * cedar-wasm (no schema, no entities beyond the request), and counts its calls. Types are used
 * without a namespace (`Agent::"bot"`, `Model::"gpt-ok"`, `Action::"llm:invoke"`).
 */
export function cedarDecisionPoint(
  policies: Record<string, TestPolicy>,
): DecisionPoint & { calls: AuthorizeInput[]; options: DecideOptions[] } {
  const staticPolicies = Object.fromEntries(Object.entries(policies).map(([id, p]) => [id, p.text]));
  // Evaluate once up front so WASM compilation never counts against a test's decision timeout.
  isAuthorized({
    principal: { type: 'Agent', id: 'warm' },
    action: { type: 'Action', id: 'warm' },
    resource: { type: 'Model', id: 'warm' },
    context: {},
    policies: { staticPolicies },
    entities: [],
  });
  const calls: AuthorizeInput[] = [];
  const options: DecideOptions[] = [];
  return {
    calls,
    options,
    async decide(input: AuthorizeInput, opts: DecideOptions): Promise<AuthorizeResponse> {
      calls.push(input);
      options.push(opts);
      const answer = isAuthorized({
        principal: { type: input.principal.type, id: input.principal.id },
        action: { type: 'Action', id: input.action },
        resource: { type: input.resource.type, id: input.resource.id },
        context: toCedarContext({ ...(input.context ?? {}), ...(input.intent !== undefined ? { intent: input.intent } : {}) }),
        policies: { staticPolicies },
        entities: [],
      });
      const decision_id = randomUUID();
      if (answer.type !== 'success') {
        return {
          decision_id,
          policy_version: 'test',
          result: {
            allow: false,
            decision: 'deny',
            reasons: [],
            errors: answer.errors.map((e) => ({ code: 'cedar_error', message: e.message })),
          },
        };
      }
      const { decision, diagnostics } = answer.response;
      const reasons = diagnostics.reason.map((id) => ({
        policy: id,
        effect: (policies[id]?.text.trimStart().startsWith('forbid') ? 'forbid' : 'permit') as 'permit' | 'forbid',
        annotations: (policies[id]?.reason ? { reason: policies[id]!.reason! } : {}) as Record<string, string>,
      }));
      return {
        decision_id,
        policy_version: 'test',
        result: {
          allow: decision === 'allow',
          decision,
          reasons,
          errors: diagnostics.errors.map((e) => ({ policy: e.policyId, code: 'policy_error', message: e.error.message })),
        },
      };
    },
  };
}

function toCedarContext(ctx: Record<string, unknown>): Record<string, never> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v))) out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === 'string');
  }
  return out as Record<string, never>;
}
