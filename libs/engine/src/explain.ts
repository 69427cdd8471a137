import { cedar } from './cedar-wasm.ts';
import { actionEntitiesFor, evaluate, type EvaluateOptions } from './evaluate.ts';
import { safe, uidKey, type CompiledPolicySet } from './policy-set.ts';
import { analyseReads, type EstPolicy } from './reads.ts';
import type { EngineDecision, EntityUid, EvaluationRequest, PolicyInfo } from './types.ts';

/** How one condition clause (or one `&&` conjunct of a `when` clause) came out for a request. */
export interface ConditionCheck {
  kind: 'when' | 'unless';
  /** The condition as Cedar text, on one line. */
  text: string;
  /**
   * `holds`: the condition lets the policy apply (a `when` that is true, an `unless` that is false).
   * `fails`: it keeps the policy from applying. `error`: evaluating it failed (so the policy would
   * be skipped). `unreached`: it errored only because an earlier conjunct already failed.
   */
  outcome: 'holds' | 'fails' | 'error' | 'unreached';
  /** Cedar's message when the outcome is `error`. */
  message?: string;
  /**
   * For a condition that did not hold: the request's value of every attribute path it reads
   * (`resource.allowedIntents`, `context.intent`); `undefined` marks an absent attribute.
   */
  values?: Record<string, unknown>;
}

/** Which parts of a policy's scope matched the request. */
export interface ScopeCheck {
  principal: boolean;
  action: boolean;
  resource: boolean;
}

/** One policy taken apart against one request: its scope, then each condition on its own. */
export interface PolicyAnalysis {
  policy: PolicyInfo;
  scope: ScopeCheck;
  scopeMatched: boolean;
  /** True when the whole policy is satisfied by the request. */
  satisfied: boolean;
  conditions: ConditionCheck[];
  /** The scope parts and conditions that kept the policy from applying: what it needed. */
  needed: string[];
}

/** The explanation of one decision. */
export interface Explanation {
  decision: EngineDecision;
  /** Permits the request's action reaches, closest first: scope matched, then fewest unmet conditions. */
  permits: PolicyAnalysis[];
  /** True when no permit was satisfied: the deny is a default deny, and `permits` says what was missing. */
  noMatchingPermit: boolean;
}

/** Options of `explainRequest`. */
export interface ExplainOptions extends EvaluateOptions {
  /** At most this many permits are analysed (closest first in the answer). Default 50. */
  maxPermits?: number;
}

type Est = {
  effect: 'permit' | 'forbid';
  principal: Record<string, unknown>;
  action: Record<string, unknown>;
  resource: Record<string, unknown>;
  conditions: Array<{ kind: 'when' | 'unless'; body: Expr }>;
  annotations?: Record<string, string | null>;
};
type Expr = Record<string, unknown>;

const ALL = { op: 'All' };

/**
 * Decides a request and explains it: the decision with its determining policies, and every
 * permit the request's action reaches, analysed part by part — which scope constraints matched,
 * which `when` conjuncts held and which `unless` clauses blocked. For a deny with no satisfied
 * permit this is the list of permits that came closest and what each still needed.
 */
export function explainRequest(set: CompiledPolicySet, request: EvaluationRequest, options: ExplainOptions = {}): Explanation {
  const decision = evaluate(set, request, { validateRequest: false, ...options });
  const action = uidKey(request.action);
  const ids = new Set<string>();
  for (const key of [action, '*']) for (const bucket of set.index.get(key)?.values() ?? []) for (const id of bucket) ids.add(id);
  const permits: PolicyAnalysis[] = [];
  for (const id of [...ids].sort()) {
    if (permits.length >= (options.maxPermits ?? 50)) break;
    if (set.policies.get(id)?.effect !== 'permit') continue;
    const analysis = analysePolicy(set, id, request);
    if (analysis) permits.push(analysis);
  }
  // Closest first: fewest unmet parts, then (on a tie) the most conditions already holding.
  permits.sort((a, b) => rank(a) - rank(b) || holding(b) - holding(a) || a.policy.id.localeCompare(b.policy.id));
  return { decision, permits, noMatchingPermit: !permits.some((p) => p.satisfied) };
}

/**
 * The top-level context keys the policies `ids` can read (from their JSON form), or `all` when one
 * uses the context as a whole or cannot be taken apart. What an approval of a request gated by
 * these policies is bound to, beside principal, action and resource.
 */
export function contextKeysRead(set: CompiledPolicySet, ids: readonly string[]): string[] | 'all' {
  // Asked on every approval-gated decision: remembered per set (sets are immutable).
  const key = [...ids].sort().join('\n');
  let known = keysRead.get(set);
  if (!known) keysRead.set(set, (known = new Map()));
  const hit = known.get(key);
  if (hit !== undefined) return hit;
  const answer = readContextKeys(set, ids);
  known.set(key, answer);
  return answer;
}

const keysRead = new WeakMap<CompiledPolicySet, Map<string, string[] | 'all'>>();

function readContextKeys(set: CompiledPolicySet, ids: readonly string[]): string[] | 'all' {
  const ests: EstPolicy[] = [];
  for (const id of ids) {
    const est = policyEst(set, id);
    if (!est) return 'all';
    ests.push(est);
  }
  const reads = analyseReads(ests);
  return reads.contextWhole ? 'all' : [...reads.contextKeys].sort();
}

function holding(a: PolicyAnalysis): number {
  return a.conditions.filter((c) => c.outcome === 'holds').length;
}

function rank(a: PolicyAnalysis): number {
  if (a.satisfied) return 0;
  const unmetScope = Object.values(a.scope).filter((ok) => !ok).length;
  return (a.scopeMatched ? 1 : 1000 * (1 + unmetScope)) + a.needed.length;
}

/**
 * Takes one policy (static or template-linked) apart against a request. Undefined for an unknown
 * id or an unlinked template.
 */
export function analysePolicy(set: CompiledPolicySet, id: string, request: EvaluationRequest): PolicyAnalysis | undefined {
  const policy = set.policies.get(id);
  if (!policy || policy.template) return undefined;
  const est = policyEst(set, id);
  if (!est) return undefined;
  const check = (part: Partial<Est>) => run(set, request, { ...base(), ...part });
  const scope: ScopeCheck = {
    principal: check({ principal: est.principal }).outcome === 'allow',
    action: check({ action: est.action }).outcome === 'allow',
    resource: check({ resource: est.resource }).outcome === 'allow',
  };
  const scopeMatched = scope.principal && scope.action && scope.resource;
  const conditions: ConditionCheck[] = [];
  for (const clause of est.conditions) {
    const parts = clause.kind === 'when' ? conjuncts(clause.body) : [clause.body];
    let earlierFailed = false;
    for (const body of parts) {
      const r = check({ conditions: [{ kind: 'when', body }] });
      const text = conditionText(body);
      let outcome: ConditionCheck['outcome'];
      if (r.outcome === 'error') outcome = earlierFailed ? 'unreached' : 'error';
      else if (clause.kind === 'when') outcome = r.outcome === 'allow' ? 'holds' : 'fails';
      else outcome = r.outcome === 'allow' ? 'fails' : 'holds';
      if (outcome === 'fails') earlierFailed = true;
      const values = outcome === 'fails' || outcome === 'error' ? valuesRead(body, request) : undefined;
      conditions.push({
        kind: clause.kind,
        text,
        outcome,
        ...(r.outcome === 'error' && outcome === 'error' ? { message: r.message } : {}),
        ...(values && Object.keys(values).length > 0 ? { values } : {}),
      });
    }
  }
  const satisfied = run(set, request, est).outcome === 'allow';
  const needed: string[] = [];
  if (!scope.principal) needed.push(`principal ${scopeText(est.principal)}`);
  if (!scope.action) needed.push(`action ${scopeText(est.action)}`);
  if (!scope.resource) needed.push(`resource ${scopeText(est.resource)}`);
  for (const c of conditions) {
    if (c.outcome === 'fails') needed.push(c.kind === 'when' ? `when { ${c.text} }` : `unless { ${c.text} } to be false`);
    if (c.outcome === 'error') needed.push(`when { ${c.text} } (errored: ${c.message ?? 'evaluation error'})`);
  }
  return { policy, scope, scopeMatched, satisfied, conditions, needed };
}

function base(): Est {
  return { effect: 'permit', principal: ALL, action: ALL, resource: ALL, conditions: [] };
}

/** The policy's EST, with template slots filled for a link. */
function policyEst(set: CompiledPolicySet, id: string): Est | undefined {
  const staticText = set.staticTexts.get(id);
  if (staticText !== undefined) {
    const r = safe(() => cedar.policyToJson(staticText));
    return r.ok && r.value.type === 'success' ? (r.value.json as unknown as Est) : undefined;
  }
  const link = set.links.find((l) => l.linkId === id);
  const templateText = link ? set.templateTexts.get(link.templateId) : undefined;
  if (!link || templateText === undefined) return undefined;
  const r = safe(() => cedar.templateToJson(templateText));
  if (!r.ok || r.value.type !== 'success') return undefined;
  const est = r.value.json as unknown as Est;
  const fill = (c: Record<string, unknown>): Record<string, unknown> => {
    const slot = c.slot as '?principal' | '?resource' | undefined;
    const inner = c.in as Record<string, unknown> | undefined;
    if (slot) {
      const { slot: _s, ...rest } = c;
      return { ...rest, entity: link.values[slot] };
    }
    if (inner) return { ...c, in: fill(inner) };
    return c;
  };
  return { ...est, principal: fill(est.principal), resource: fill(est.resource) };
}

/** The value, in this request, of every `var.attr.attr...` path an expression reads. */
function valuesRead(body: Expr, request: EvaluationRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byKey = new Map(request.entities.map((e) => [uidKey(e.uid), e]));
  const walk = (e: unknown): void => {
    if (e === null || typeof e !== 'object') return;
    if (Array.isArray(e)) return e.forEach(walk);
    const rec = e as Record<string, unknown>;
    const dot = rec['.'] as { left: Expr; attr: string } | undefined;
    const path = dot ? pathOf(rec) : undefined;
    if (path) {
      out[path.join('.')] = resolve(path, request, byKey);
      return;
    }
    for (const v of Object.values(rec)) walk(v);
  };
  walk(body);
  return out;
}

function pathOf(e: Expr): string[] | undefined {
  const dot = e['.'] as { left: Expr; attr: string } | undefined;
  if (dot) {
    const left = pathOf(dot.left);
    return left ? [...left, dot.attr] : undefined;
  }
  return typeof e.Var === 'string' ? [e.Var] : undefined;
}

function resolve(path: string[], request: EvaluationRequest, byKey: ReadonlyMap<string, { attrs: Record<string, unknown> }>): unknown {
  const [root, ...attrs] = path;
  let value: unknown =
    root === 'context'
      ? request.context
      : root === 'principal'
        ? { __entity: request.principal }
        : root === 'resource'
          ? { __entity: request.resource }
          : undefined;
  for (const attr of attrs) {
    const entity = (value as { __entity?: EntityUid } | null)?.__entity;
    const record = entity ? byKey.get(uidKey(entity))?.attrs : (value as Record<string, unknown> | null);
    if (record === null || typeof record !== 'object' || !Object.hasOwn(record, attr)) return undefined;
    value = (record as Record<string, unknown>)[attr];
  }
  return value;
}

function conjuncts(body: Expr): Expr[] {
  const and = body['&&'] as { left: Expr; right: Expr } | undefined;
  return and ? [...conjuncts(and.left), ...conjuncts(and.right)] : [body];
}

function run(set: CompiledPolicySet, request: EvaluationRequest, est: Est): { outcome: 'allow' | 'deny' | 'error'; message?: string } {
  const { annotations: _a, ...policy } = est;
  const answer = safe(() =>
    cedar.isAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context,
      // As the decision point evaluates: no schema; the action hierarchies (the request's and every one the set names) travel as entities.
      entities: [
        ...request.entities,
        ...actionEntitiesFor(set, request.action).filter((a) => !request.entities.some((e) => uidKey(e.uid) === uidKey(a.uid))),
      ],
      policies: { staticPolicies: { p: { ...policy, effect: 'permit' } as never } },
    }),
  );
  if (!answer.ok) return { outcome: 'error', message: answer.error instanceof Error ? answer.error.message : 'cedar-wasm threw' };
  if (answer.value.type === 'failure') return { outcome: 'error', message: answer.value.errors.map((e) => e.message).join('; ') };
  const { decision, diagnostics } = answer.value.response;
  if (diagnostics.errors.length > 0) return { outcome: 'error', message: diagnostics.errors.map((e) => e.error.message).join('; ') };
  return { outcome: decision };
}

/** A condition expression rendered as one line of Cedar. */
function conditionText(body: Expr): string {
  const r = safe(() => cedar.policyToText({ ...base(), conditions: [{ kind: 'when', body }] } as never));
  if (!r.ok || r.value.type !== 'success') return JSON.stringify(body);
  const m = /when\s*\{([\s\S]*)\}\s*;\s*$/.exec(r.value.text);
  return (m?.[1] ?? r.value.text).replace(/\s+/g, ' ').trim();
}

/** A scope constraint rendered the way Cedar writes it (`is Argus::Agent`, `== Argus::Action::"x"`). */
function scopeText(c: Record<string, unknown>): string {
  const uid = (e: unknown) => uidKey(e as EntityUid);
  switch (c.op) {
    case '==':
      return `== ${c.entity ? uid(c.entity) : String(c.slot)}`;
    case 'in':
      return Array.isArray(c.entities)
        ? `in [${(c.entities as unknown[]).map(uid).join(', ')}]`
        : `in ${c.entity ? uid(c.entity) : String(c.slot)}`;
    case 'is': {
      const inner = c.in as Record<string, unknown> | undefined;
      return `is ${String(c.entity_type)}${inner ? ` in ${inner.entity ? uid(inner.entity) : String(inner.slot)}` : ''}`;
    }
    default:
      return 'any';
  }
}
