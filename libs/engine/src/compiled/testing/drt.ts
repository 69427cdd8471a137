/**
 * The differential check: one generated case evaluated by the compiled evaluator and by
 * cedar-wasm's `isAuthorized` (the oracle: all entities, the full context, no schema — as the
 * decision point runs), comparing the decision, the determining policy ids and the erroring
 * policy ids.
 */
import '../../wasm-guard.ts';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { CompiledPolicies, type CedarLikeAnswer } from '../authorize.ts';
import { ACTION_ENTITIES, type DrtCase } from './drt-arbitraries.ts';
import type { EntityUid, TemplateLinkInput } from '../../types.ts';
import type { GeneratedCase } from '../../testing/cedar-arbitraries.ts';

/** One disagreement between the compiled evaluator and cedar-wasm. */
export interface Mismatch {
  policies: Record<string, string>;
  templates: Record<string, string>;
  links: TemplateLinkInput[];
  request: unknown;
  compiled: unknown;
  oracle: unknown;
}

/** Totals of a run. */
export interface DrtStats {
  /** Requests compared. */
  cases: number;
  /** Requests the compiled evaluator handed to cedar-wasm (no comparison needed: cedar-wasm answers them). */
  fallbacks: number;
  /** Requests where cedar-wasm refused the input (the compiled evaluator must then have given up). */
  oracleFailures: number;
  allow: number;
  withErrors: number;
  /** Generated cases whose policies cedar-wasm did not parse (skipped). */
  unparsed: number;
  /** Policies the compiler did not support. */
  unsupportedPolicies: number;
  mismatches: Mismatch[];
}

/** A fresh set of counters. */
export function emptyStats(): DrtStats {
  return { cases: 0, unparsed: 0, fallbacks: 0, oracleFailures: 0, allow: 0, withErrors: 0, unsupportedPolicies: 0, mismatches: [] };
}

const ORACLE_SLOT = 'argus-drt-oracle';

const summary = (a: CedarLikeAnswer['response']) => ({
  decision: a.decision,
  reason: [...a.diagnostics.reason].sort(),
  errors: a.diagnostics.errors.map((e) => e.policyId).sort(),
});

/** Runs one case of this module's generator into `stats`. */
export function runCase(c: DrtCase, stats: DrtStats): void {
  const staticPolicies: Record<string, string> = {};
  c.policies.forEach((text, i) => (staticPolicies[`p${i}`] = text));
  const templates: Record<string, string> = {};
  const links: TemplateLinkInput[] = [];
  c.templates.forEach(([effect, p, a, r, conds, values], i) => {
    templates[`t${i}`] = `${effect} (${p}, ${a}, ${r})${conds.map(([k, b]) => ` ${k} { ${b} }`).join('')};`;
    values.forEach(([pv, rv], j) => {
      const v: TemplateLinkInput['values'] = {};
      if (p.includes('?principal')) v['?principal'] = pv;
      if (r.includes('?resource')) v['?resource'] = rv;
      links.push({ templateId: `t${i}`, linkId: `t${i}-l${j}`, values: v });
    });
  });
  compareCase(staticPolicies, templates, links, [...c.entities, ...ACTION_ENTITIES], c.requests, stats);
}

/**
 * Runs one case of the engine's shared Cedar generator (`../../testing/cedar-arbitraries.ts`:
 * every EST form, syntax variants) into `stats`: compiled evaluator against cedar-wasm on the same
 * input (all entities, full context, no schema).
 */
export function runGeneratedCase(c: GeneratedCase, stats: DrtStats): void {
  const staticPolicies: Record<string, string> = {};
  const templates: Record<string, string> = {};
  for (const p of c.policies) (p.template ? templates : staticPolicies)[p.id] = p.text;
  compareCase(staticPolicies, templates, c.links, c.entities, c.requests, stats);
}

function compareCase(
  staticPolicies: Record<string, string>,
  templates: Record<string, string>,
  links: TemplateLinkInput[],
  entities: readonly unknown[],
  requests: ReadonlyArray<{ principal: EntityUid; action: EntityUid; resource: EntityUid; context: unknown }>,
  stats: DrtStats,
): void {
  const compiled = new CompiledPolicies({
    staticTexts: new Map(Object.entries(staticPolicies)),
    templateTexts: new Map(Object.entries(templates)),
    links,
  });
  const ids = [...Object.keys(staticPolicies), ...links.map((l) => l.linkId)];
  // The oracle parses the set once per case (under one fixed id: cedar-wasm never frees an id).
  const templateLinks = links.map((l) => ({ templateId: l.templateId, newId: l.linkId, values: l.values as Record<string, EntityUid> }));
  const prepared = cedar.preparsePolicySet(ORACLE_SLOT, { staticPolicies, templates, templateLinks });
  if (prepared.type !== 'success') {
    // A generated text Cedar does not parse: nothing to compare (counted, so a generator bug shows).
    stats.unparsed++;
    return;
  }
  for (const req of requests) {
    stats.cases++;
    const request = { ...req, entities };
    const ours = compiled.authorize(ids, request);
    const oracle = cedar.statefulIsAuthorized({
      principal: req.principal,
      action: req.action,
      resource: req.resource,
      context: req.context,
      entities,
      preparsedPolicySetId: ORACLE_SLOT,
    } as never);
    if (oracle.type !== 'success') {
      // cedar-wasm refused the call (a malformed entity or context value, a parent cycle): the
      // compiled evaluator must have given up too, so that cedar-wasm's refusal is the answer.
      if (ours !== undefined)
        stats.mismatches.push({
          policies: staticPolicies,
          templates,
          links,
          request,
          compiled: summary(ours.response),
          oracle: oracle.errors,
        });
      else stats.oracleFailures++;
      continue;
    }
    if (ours === undefined) {
      stats.fallbacks++;
      continue;
    }
    const a = summary(ours.response);
    const b = summary(oracle.response as CedarLikeAnswer['response']);
    if (b.decision === 'allow') stats.allow++;
    if (b.errors.length > 0) stats.withErrors++;
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      stats.mismatches.push({ policies: staticPolicies, templates, links, request, compiled: a, oracle: b });
    }
  }
  stats.unsupportedPolicies += compiled.unsupported.size;
}
