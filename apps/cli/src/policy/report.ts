/** Renders a policy test run: a readable report, JSON, or JUnit XML for CI. */
import junit from 'junit-report-builder';
import { makeStyle, type Style } from '../style.ts';
import type { TestRun } from './runner.ts';

/** The output formats of `argus policy test`. */
export type ReportFormat = 'text' | 'json' | 'junit';

/** Renders a run in the chosen format. */
export function renderRun(run: TestRun, format: ReportFormat, style: Style = makeStyle(false)): string {
  if (format === 'json') return `${JSON.stringify(toJson(run), null, 2)}\n`;
  if (format === 'junit') return toJunit(run);
  return toText(run, style);
}

/** The JSON report (stable field names; safe for CI tooling). */
export function toJson(run: TestRun): Record<string, unknown> {
  return {
    policyVersion: run.policyVersion,
    passed: run.passed,
    failed: run.failed,
    brokenSuites: run.broken,
    durationMs: Math.round(run.durationMs),
    cases: run.cases.map((c) => ({
      suite: c.suite,
      name: c.name,
      passed: c.passed,
      failures: c.failures,
      ...(c.actual ? { actual: { decision: c.actual.decision, policies: c.actual.policies, codes: c.actual.codes } } : {}),
    })),
    coverage: {
      ratio: run.coverage.ratio,
      hits: run.coverage.hits,
      uncovered: run.coverage.uncovered.map((p) => ({ id: p.id, effect: p.effect, file: p.file, line: p.line })),
    },
  };
}

function toText(run: TestRun, st: Style): string {
  const out: string[] = [];
  let suite = '';
  for (const c of run.cases) {
    if (c.suite !== suite) {
      suite = c.suite;
      out.push(st.bold(suite));
    }
    out.push(`  ${c.passed ? st.ok('ok  ') : st.fail('FAIL')} ${c.name}`);
    for (const f of c.failures) out.push(`         ${f}`);
  }
  for (const b of run.broken) {
    out.push(`${b.suite}: ${st.fail('cannot run')}`);
    for (const p of b.problems) out.push(`  ${p.file}${p.line ? `:${p.line}` : ''}: ${p.path || '/'}: ${p.message}`);
  }
  const total = run.passed + run.failed;
  out.push('');
  out.push(
    `${(run.failed || run.broken.length ? st.fail : st.ok)(`${run.passed}/${total} cases passed`)}${run.failed ? `, ${run.failed} failed` : ''}${run.broken.length ? `, ${run.broken.length} suite(s) could not run` : ''} (${Math.round(run.durationMs)} ms)`,
  );
  const { uncovered, ratio } = run.coverage;
  out.push(
    `coverage: ${Math.round(ratio * 100)}% of policies determined at least one case${uncovered.length === 0 ? '' : `; never determining (${uncovered.length}):`}`,
  );
  for (const p of uncovered) out.push(`  ${p.id} (${p.effect}, ${p.file}:${p.line})`);
  return `${out.join('\n')}\n`;
}

/** JUnit XML (junit-report-builder): one testsuite per suite file, one testcase per case, broken suites as errors. */
function toJunit(run: TestRun): string {
  const bySuite = new Map<string, TestRun['cases']>();
  for (const c of run.cases) {
    const list = bySuite.get(c.suite) ?? [];
    list.push(c);
    bySuite.set(c.suite, list);
  }
  const report = junit.newBuilder().name('argus policy test');
  for (const [name, cases] of bySuite) {
    const suite = report
      .testSuite()
      .name(xmlText(name))
      .time(secs(cases.reduce((t, c) => t + c.durationMs, 0)));
    for (const c of cases) {
      const test = suite.testCase().className(xmlText(name)).name(xmlText(c.name)).time(secs(c.durationMs));
      if (!c.passed) test.failure(xmlText(c.failures[0] ?? 'failed')).stacktrace(xmlText(c.failures.join('\n')));
    }
  }
  for (const b of run.broken) {
    const text = b.problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.path || '/'}: ${p.message}`).join('\n');
    report
      .testSuite()
      .name(xmlText(b.suite))
      .time(0)
      .testCase()
      .className(xmlText(b.suite))
      .name('suite file')
      .time(0)
      .error(xmlText(b.problems[0]?.message ?? 'invalid suite'), undefined, xmlText(text));
  }
  const out = report.build();
  if (run.coverage.uncovered.length === 0) return `${out}\n`;
  // The builder writes no comments: the uncovered policies go in one before the closing tag.
  const note = `  <!-- policies never determining: ${xml(run.coverage.uncovered.map((p) => p.id).join(', ')).replace(/--/g, '- -')} -->\n`;
  const close = out.lastIndexOf('</testsuites>');
  return `${out.slice(0, close)}${note}${out.slice(close)}\n`;
}

function secs(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Drops the characters XML 1.0 cannot carry (the builder escapes the rest, and throws on these). */
function xmlText(text: string): string {
  return text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
}

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry. */
export function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
