/**
 * Argus's proxy as benchmarked: `createProxyApp` with an in-process Cedar decision point over 10
 * policies — the engine's compiled evaluation, as the decision service runs it by default
 * (`BENCH_WASM_DECISION=1`: cedar-wasm `statefulIsAuthorized` over the preparsed set instead;
 * `BENCH_JS_DECISION=1`: no Cedar at all) — a memory secret store holding the upstream key, the agent-token
 * authenticator, scrubbing, usage parsing and a recorder that keeps the last event (the audit
 * trail's own cost is benchmarked in bench/audit). Usage: `argus-proxy.ts <upstream-url>`.
 * Prints `READY <port>`.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizeInput, AuthorizeResponse, DecisionEvent } from '@argus/contracts';
import { compilePolicySet, evaluate } from '@argus/engine';
import { createMetricsRegistry, newDecisionId, silentLogger } from '@argus/platform';
import { MemorySecretStore, SecretsBroker } from '@argus/secrets';
import { createAuthenticator, createProxyApp, hashAgentToken, parseProxyConfig } from '@argus/proxy';

// Node 20's V8 crashes (fatal in Deoptimizer::DoComputeBuiltinContinuation) when it deoptimizes a
// JS→Wasm call it inlined; cedar-wasm under HTTP load triggers it. Not inlining those calls avoids it.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
const target = process.argv[2]!;
const models = ['gpt-bench', 'gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini', 'claude-sonnet', 'claude-haiku', 'mistral-large', 'llama-70b'];
const staticPolicies: Record<string, string> = Object.fromEntries(
  models.map((m, i) => [
    `p${i}`,
    `permit(principal, action == Action::"llm:invoke", resource == Model::"${m}") when { context.provider == "openai" };`,
  ]),
);
staticPolicies.f0 = 'forbid(principal == Agent::"revoked", action, resource);';
// Preparsed once, as the engine holds its policy set.
const parsed = preparsePolicySet('bench', { staticPolicies });
if (parsed.type !== 'success') throw new Error('bench policies do not parse');
// The same policies as the engine compiles them (the decision service's default path).
const compiled = compilePolicySet({
  schema: 'entity Agent; entity Model; action "llm:invoke" appliesTo { principal: Agent, resource: Model, context: { provider: String } };',
  policies: Object.entries(staticPolicies).map(([id, text]) => ({ file: `${id}.cedar`, text })),
});
if (!compiled.ok) throw new Error(`bench policies do not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
const policySet = compiled.policySet;

function decide(input: AuthorizeInput): AuthorizeResponse {
  if (process.env.BENCH_JS_DECISION)
    return {
      decision_id: newDecisionId(),
      policy_version: 'bench',
      result: {
        allow: models.includes(input.resource.id),
        decision: models.includes(input.resource.id) ? 'allow' : 'deny',
        reasons: [],
        errors: [],
      },
    };
  if (!process.env.BENCH_WASM_DECISION) {
    const decision = evaluate(
      policySet,
      {
        principal: { type: 'Agent', id: input.principal.id },
        action: { type: 'Action', id: input.action },
        resource: { type: 'Model', id: input.resource.id },
        context: { provider: String(input.context?.provider ?? '') },
        entities: [],
      },
      { validateRequest: false },
    );
    const allow = decision.decision === 'allow';
    return {
      decision_id: newDecisionId(),
      policy_version: policySet.version,
      result: { allow, decision: allow ? 'allow' : 'deny', reasons: [], errors: [] },
    };
  }
  const answer = statefulIsAuthorized({
    principal: { type: input.principal.type, id: input.principal.id },
    action: { type: 'Action', id: input.action },
    resource: { type: input.resource.type, id: input.resource.id },
    context: { provider: String(input.context?.provider ?? '') },
    preparsedPolicySetId: 'bench',
    entities: [],
  });
  const allow = answer.type === 'success' && answer.response.decision === 'allow';
  return {
    decision_id: newDecisionId(),
    policy_version: 'bench',
    result: { allow, decision: allow ? 'allow' : 'deny', reasons: [], errors: [] },
  };
}

const store = new MemorySecretStore({ key: randomBytes(32) });
await store.put('openai-key', 'sk-bench-upstream-key-0123456789');
const broker = new SecretsBroker(store);
await broker.loadAll();
const config = parseProxyConfig({
  auth: { agentTokens: [{ agent: 'bench-agent', sha256: hashAgentToken('argus_bench_token') }] },
  upstreams: [{ name: 'openai', kind: 'openai', prefix: '/openai', target, credential: { name: 'openai-key' } }],
});
let last: DecisionEvent | undefined;
const app = createProxyApp({
  config,
  decisionPoint: { decide: async (input) => decide(input) },
  secrets: broker,
  recorder: { record: async (e) => void (last = e) },
  usage: { reportUsage: async () => undefined },
  logger: silentLogger(),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  authenticate: createAuthenticator({ auth: config.auth }),
});
const server = createServer(app);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  process.stderr.write(`last decision ${last?.decisionId ?? 'none'}\n`);
  process.exit(0);
});
