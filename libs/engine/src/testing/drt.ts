/**
 * Differential random testing of the production decision path against raw cedar-wasm. For each
 * generated case: Argus's path (compilePolicySet, then per request `now` only when the set reads
 * it, `sliceFor(..., { pruneAttributes: true })`, `contextFor`, `evaluate` without the schema — as
 * libs/apdp and libs/decision does) against `cedar.isAuthorized` given the schema, EVERY entity
 * and the full context, compared on decision, determining policies and erroring policies after
 * Argus's one documented rule: a forbid that errored turns an allow into a deny.
 *
 * Test-only code, shared by the engine's property test and bench/drt/run.ts.
 */
import '../wasm-guard.ts';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { evaluate, contextFor, sliceFor } from '../evaluate.ts';
import { compilePolicySet, uidKey, type CompiledPolicySet } from '../policy-set.ts';
import type { CedarEntity, EvaluationRequest, TemplateLinkInput } from '../types.ts';
import type { GeneratedCase, GeneratedPolicy, GeneratedRequest } from './cedar-arbitraries.ts';

/** What one side decided, in comparable form. */
export interface Outcome {
  decision: 'allow' | 'deny';
  determining: string[];
  errors: string[];
}

/** One difference between the two sides. */
export interface Mismatch {
  policies: GeneratedPolicy[];
  links: TemplateLinkInput[];
  request: GeneratedRequest;
  argus: Outcome;
  cedar: Outcome | string;
}

/** Counters over a run. */
export interface DrtStats {
  /** Requests compared. */
  cases: number;
  /** Policies generated, and how many strict validation refused (dropped before the comparison). */
  generatedPolicies: number;
  rejectedPolicies: number;
  /** Compared outcomes by decision, and how many had at least one erroring policy. */
  allows: number;
  denies: number;
  withErrors: number;
  /** EST node kinds (`.`, `has`, `getTag`, `if-then-else`, `decimal`, ...) seen in the accepted policies. */
  coverage: Record<string, number>;
  mismatches: Mismatch[];
}

export function emptyStats(): DrtStats {
  return { cases: 0, generatedPolicies: 0, rejectedPolicies: 0, allows: 0, denies: 0, withErrors: 0, coverage: {}, mismatches: [] };
}

/** Compiles the case's policies, dropping those strict validation refuses (counted), with their links. */
export function compileCase(
  c: GeneratedCase,
  stats: DrtStats,
): { set: CompiledPolicySet; policies: GeneratedPolicy[]; links: TemplateLinkInput[] } | undefined {
  let policies = c.policies;
  stats.generatedPolicies += policies.length;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ids = new Set(policies.map((p) => p.id));
    const links = c.links.filter((l) => ids.has(l.templateId));
    const r = compilePolicySet({
      schema: c.schema,
      policies: [{ file: 'drt.cedar', text: policies.map((p) => p.text).join('\n\n') }],
      links,
    });
    if (r.ok) {
      stats.rejectedPolicies += c.policies.length - policies.length;
      return { set: r.policySet, policies, links };
    }
    const bad = new Set(r.diagnostics.map((d) => d.policyId).filter((id): id is string => id !== undefined));
    if (bad.size === 0) break;
    policies = policies.filter((p) => !bad.has(p.id));
    if (policies.length === 0) break;
  }
  stats.rejectedPolicies += c.policies.length;
  return undefined;
}

/** Argus's production path for one request (as libs/apdp and libs/decision runs it). */
export function argusOutcome(set: CompiledPolicySet, all: ReadonlyMap<string, CedarEntity>, request: GeneratedRequest): Outcome {
  // The decision service adds `now` only when the set reads it.
  const { now, ...rest } = request.context;
  const context = set.mentionsNow && now !== undefined ? { ...rest, now } : rest;
  const req: EvaluationRequest = {
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: contextFor(set, context),
    entities: sliceFor(set, all, [request.principal, request.resource], context, { pruneAttributes: true }),
  };
  const d = evaluate(set, req, { validateRequest: false });
  return {
    decision: d.decision,
    determining: d.determining.map((p) => p.id).sort(),
    errors: [...new Set(d.errors.map((e) => e.policyId ?? `(${e.code}: ${e.message})`))].sort(),
  };
}

const REF_SCHEMA = 'argus-drt-schema';
const REF_SET = 'argus-drt-reference';
let preparsedSchema: string | undefined;

/**
 * Raw cedar-wasm with the schema, every entity and the full context, then Argus's erroring-forbid rule.
 * The generated requests conform to the schema, so checking them (`validateRequest`, twice the cost)
 * changes no answer; the schema still types every entity and context value and declares the actions.
 * `preparsed` (default) runs the same evaluation through `statefulIsAuthorized` on a set and schema
 * preparsed once per case (fixed slot names, so wasm memory stays bounded); `plain` calls `isAuthorized`.
 */
export function cedarOutcome(
  c: GeneratedCase,
  policies: GeneratedPolicy[],
  links: TemplateLinkInput[],
  request: GeneratedRequest,
  mode: 'plain' | { preparsed: true } = 'plain',
  validateRequest = false,
): Outcome | string {
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  for (const p of policies) (p.template ? templates : staticPolicies)[p.id] = p.text;
  const templateLinks = links.map((l) => ({ templateId: l.templateId, newId: l.linkId, values: l.values as never }));
  const call = {
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context,
    entities: c.entities,
    validateRequest,
  };
  const answer =
    mode === 'plain'
      ? cedar.isAuthorized({ ...call, policies: { staticPolicies, templates, templateLinks }, schema: c.schema } as never)
      : cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: REF_SET, preparsedSchemaName: REF_SCHEMA } as never);
  if (answer.type !== 'success') return `cedar failed: ${answer.errors.map((e) => e.message).join('; ')}`;
  const { decision, diagnostics } = answer.response;
  const errors = [...new Set(diagnostics.errors.map((e) => e.policyId))].sort();
  const forbidden = (id: string) => {
    const p = policies.find((x) => x.id === id || links.some((l) => l.linkId === id && l.templateId === x.id));
    return p !== undefined && /^@id\("[^"]*"\)\s*forbid/.test(p.text);
  };
  const erroredForbids = errors.filter(forbidden);
  if (decision === 'allow' && erroredForbids.length > 0) return { decision: 'deny', determining: erroredForbids, errors };
  return { decision, determining: [...diagnostics.reason].sort(), errors };
}

/** Walks an EST value and counts node kinds. */
export function countNodes(est: unknown, into: Record<string, number>): void {
  const stack: unknown[] = [est];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      stack.push(...v);
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'annotations') continue;
      const bump = (kind: string) => (into[kind] = (into[kind] ?? 0) + 1);
      if (k === '__entity') bump('entityLiteral');
      else if (k === 'Value' && (child === null || typeof child !== 'object')) bump(`Value:${typeof child}`);
      else if (k === 'Var') bump(`Var:${String(child)}`);
      else if (k === 'op') bump(`scope:${String(child)}`);
      else if (k === 'slot' || k === 'Slot') bump('slot');
      else if (k === 'in' && child !== null && typeof child === 'object' && 'left' in child) bump('in');
      else if (k === 'is') bump((child as { in?: unknown }).in !== undefined ? 'is-in' : 'is');
      else if (k === 'Record') {
        bump('Record');
        // Field names are not node kinds: walk the field values only.
        stack.push(...Object.values(child as Record<string, unknown>));
        continue;
      } else if (!STRUCTURAL.has(k)) bump(k);
      stack.push(child);
    }
  }
}

const STRUCTURAL = new Set([
  'left',
  'right',
  'arg',
  'attr',
  'if',
  'then',
  'else',
  'pattern',
  'in',
  'entity_type',
  'kind',
  'body',
  'effect',
  'conditions',
  'principal',
  'action',
  'resource',
  'entity',
  'entities',
  'type',
  'id',
  'Literal',
  'Value',
]);

/** Runs one generated case: compile, then compare every request. */
export function runCase(
  c: GeneratedCase,
  stats: DrtStats,
  options: { coverage?: boolean; reference?: 'plain' | 'preparsed'; validateRequest?: boolean } = {},
): void {
  const compiled = compileCase(c, stats);
  if (!compiled) return;
  const { set, policies, links } = compiled;
  if (options.coverage) {
    for (const p of policies) {
      const json = p.template ? cedar.templateToJson(p.text) : cedar.policyToJson(p.text);
      if (json.type === 'success') countNodes(json.json, stats.coverage);
    }
  }
  const all = new Map<string, CedarEntity>(c.entities.map((e) => [uidKey(e.uid), e]));
  const plain = options.reference === 'plain';
  if (!plain) prepareReference(c, policies, links);
  for (const request of c.requests) {
    const reference = cedarOutcome(c, policies, links, request, plain ? 'plain' : { preparsed: true }, options.validateRequest ?? false);
    const ours = argusOutcome(set, all, request);
    stats.cases++;
    if (typeof reference !== 'string') {
      if (reference.decision === 'allow') stats.allows++;
      else stats.denies++;
      if (reference.errors.length > 0) stats.withErrors++;
    }
    if (typeof reference === 'string' || !sameOutcome(ours, reference)) {
      stats.mismatches.push({ policies, links, request, argus: ours, cedar: reference });
    }
  }
}

/** Preparses the case's schema (once) and policy set (replacing the previous case's) for the reference side. */
function prepareReference(c: GeneratedCase, policies: GeneratedPolicy[], links: TemplateLinkInput[]): void {
  if (preparsedSchema !== c.schema) {
    const s = cedar.preparseSchema(REF_SCHEMA, c.schema);
    if (s.type !== 'success') throw new Error('reference schema could not be preparsed');
    preparsedSchema = c.schema;
  }
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  for (const p of policies) (p.template ? templates : staticPolicies)[p.id] = p.text;
  const templateLinks = links.map((l) => ({ templateId: l.templateId, newId: l.linkId, values: l.values as never }));
  const r = cedar.preparsePolicySet(REF_SET, { staticPolicies, templates, templateLinks } as never);
  if (r.type !== 'success') throw new Error(`reference set could not be preparsed: ${r.errors.map((e) => e.message).join('; ')}`);
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.decision === b.decision && a.determining.join('\n') === b.determining.join('\n') && a.errors.join('\n') === b.errors.join('\n');
}
