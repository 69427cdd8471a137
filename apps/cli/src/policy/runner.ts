/**
 * Runs policy test suites through the production decision service and measures coverage: which
 * policies decided at least one case.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AuthorizeResult } from '@argus/contracts';
import { InvalidInputError } from '@argus/platform';
import type { PolicyInfo } from '@argus/engine';
import type { PolicyTestCase, PolicyTestSuite, SuiteProblem } from './suite.ts';
import { caseUsage } from './usage.ts';
import { fixtureDecisions, type PolicyWorkspace } from './workspace.ts';

/** The observed outcome of a case. */
export interface CaseOutcome {
  decision: string;
  policies: string[];
  /** Catalogued codes (`docs/codes.md`), as the decision carried them. */
  codes: NonNullable<AuthorizeResult['codes']>;
  obligations: Record<string, unknown>;
  errors: AuthorizeResult['errors'];
}

/** One case's result. `failures` is empty when it passed. */
export interface CaseResult {
  suite: string;
  name: string;
  passed: boolean;
  failures: string[];
  durationMs: number;
  actual?: CaseOutcome;
}

/** A suite file that could not run, with why. */
export interface BrokenSuite {
  suite: string;
  problems: SuiteProblem[];
}

/** How often each policy determined a decision across every case. */
export interface Coverage {
  /** Policy id → the number of cases it determined. */
  hits: Record<string, number>;
  /** Policies (templates excluded) that determined no case. */
  uncovered: PolicyInfo[];
  /** Share of policies covered, 0..1 (1 for an empty set). */
  ratio: number;
}

/** Everything one run produced. */
export interface TestRun {
  policyVersion: string;
  cases: CaseResult[];
  broken: BrokenSuite[];
  coverage: Coverage;
  passed: number;
  failed: number;
  durationMs: number;
}

/** A suite ready to run: its display name and parsed content. */
export interface RunnableSuite {
  name: string;
  suite: PolicyTestSuite;
}

/** Runs every case of every suite; broken suites are reported, not run. */
export async function runSuites(workspace: PolicyWorkspace, suites: RunnableSuite[], broken: BrokenSuite[] = []): Promise<TestRun> {
  const started = performance.now();
  const cases: CaseResult[] = [];
  const hits: Record<string, number> = {};
  for (const { name, suite } of suites) {
    if (!suite.cases || suite.cases.length === 0) {
      broken.push({ suite: name, problems: [{ file: name, path: '/cases', message: 'the suite has no cases' }] });
      continue;
    }
    const decisions = fixtureDecisions(workspace.input, workspace.intents, suite);
    for (const c of suite.cases) {
      const result = await runCase(name, suite, c, decisions);
      for (const id of result.actual?.policies ?? []) hits[id] = (hits[id] ?? 0) + 1;
      cases.push(result);
    }
  }
  const policies = [...workspace.set.policies.values()].filter((p) => !p.template);
  const uncovered = policies.filter((p) => !hits[p.id]);
  const failed = cases.filter((c) => !c.passed).length;
  return {
    policyVersion: workspace.set.version,
    cases,
    broken,
    coverage: { hits, uncovered, ratio: policies.length === 0 ? 1 : (policies.length - uncovered.length) / policies.length },
    passed: cases.length - failed,
    failed,
    durationMs: performance.now() - started,
  };
}

async function runCase(
  suiteName: string,
  suite: PolicyTestSuite,
  c: PolicyTestCase,
  decisions: ReturnType<typeof fixtureDecisions>,
): Promise<CaseResult> {
  const started = performance.now();
  const now = c.now ?? suite.now;
  decisions.setNow(now ? new Date(now) : new Date());
  decisions.setUsage(caseUsage(c.usage, suite.usage, decisions.firstCallUsage));
  let result: AuthorizeResult;
  try {
    result = (
      await decisions.service.decide(c.request, { caller: { kind: 'cli' }, explain: 'reasons', audit: false }, suite.entities ?? [])
    ).result;
  } catch (err) {
    const detail =
      err instanceof InvalidInputError
        ? `${err.message}${err.errors.map((e) => ` (${e.path}: ${e.message})`).join('')}`
        : err instanceof Error
          ? err.message
          : String(err);
    return {
      suite: suiteName,
      name: c.name,
      passed: false,
      failures: [`the request was refused: ${detail}`],
      durationMs: performance.now() - started,
    };
  }
  const actual: CaseOutcome = {
    decision: result.decision,
    policies: result.reasons.map((r) => r.policy),
    codes: result.codes ?? [],
    obligations: result.obligations ?? {},
    errors: result.errors,
  };
  const failures = compare(c.expect, actual);
  return { suite: suiteName, name: c.name, passed: failures.length === 0, failures, durationMs: performance.now() - started, actual };
}

function compare(expect: PolicyTestCase['expect'], actual: CaseOutcome): string[] {
  const failures: string[] = [];
  const list = (xs: readonly string[]) => (xs.length === 0 ? '(none)' : [...xs].sort().join(', '));
  const sameSet = (a: readonly string[], b: readonly string[]) => isDeepStrictEqual([...new Set(a)].sort(), [...new Set(b)].sort());
  if (expect.decision !== actual.decision) {
    const why =
      actual.codes.length > 0 ? ` (codes: ${list(actual.codes)})` : actual.policies.length > 0 ? ` (by ${list(actual.policies)})` : '';
    failures.push(`decision: expected ${expect.decision}, got ${actual.decision}${why}`);
  }
  if (expect.policies && !sameSet(expect.policies, actual.policies)) {
    failures.push(`determining policies: expected ${list(expect.policies)}, got ${list(actual.policies)}`);
  }
  if (expect.codes && !sameSet(expect.codes, actual.codes))
    failures.push(`codes: expected ${list(expect.codes)}, got ${list(actual.codes)}`);
  if (expect.obligations && !isDeepStrictEqual(expect.obligations, actual.obligations)) {
    failures.push(`obligations: expected ${JSON.stringify(expect.obligations)}, got ${JSON.stringify(actual.obligations)}`);
  }
  if (failures.length > 0 && actual.errors.length > 0) {
    failures.push(`evaluation errors: ${actual.errors.map((e) => `${e.policy ? `${e.policy}: ` : ''}${e.message}`).join('; ')}`);
  }
  return failures;
}
