import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderRun } from './report.ts';
import type { TestRun } from './runner.ts';

const RUN: TestRun = {
  policyVersion: 'v1',
  passed: 1,
  failed: 1,
  durationMs: 12.5,
  cases: [
    { suite: 'tools.yaml', name: 'support reads <crm> & "orders"', passed: true, failures: [], durationMs: 2 },
    {
      suite: 'tools.yaml',
      name: 'no shell\u0001',
      passed: false,
      failures: ['decision: expected deny, got allow', 'codes: expected a, got b'],
      durationMs: 3.2,
    },
  ],
  broken: [{ suite: 'typo.json', problems: [{ file: 'typo.json', path: '/extra', message: 'unknown field `extra`' }] }],
  coverage: { ratio: 0.5, hits: {}, uncovered: [{ id: 'forbid--all', effect: 'forbid', file: 'a.cedar', line: 3 }] },
} as unknown as TestRun;

describe('JUnit report', () => {
  it('is valid XML with one suite per file, failures and broken suites counted, text escaped', () => {
    const out = renderRun(RUN, 'junit');
    expect(XMLValidator.validate(out)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', commentPropName: '#comment' }).parse(out);
    expect(doc.testsuites).toMatchObject({ name: 'argus policy test', tests: '3', failures: '1', errors: '1' });
    const [tools, typo] = doc.testsuites.testsuite;
    expect(tools).toMatchObject({ name: 'tools.yaml', tests: '2', failures: '1', errors: '0' });
    expect(tools.testcase[0]).toMatchObject({ classname: 'tools.yaml', name: 'support reads <crm> & "orders"', time: '0.002' });
    expect(tools.testcase[1].name).toBe('no shell');
    expect(tools.testcase[1].failure.message).toBe('decision: expected deny, got allow');
    expect(JSON.stringify(tools.testcase[1])).toContain('codes: expected a, got b');
    expect(typo).toMatchObject({ name: 'typo.json', errors: '1' });
    expect(JSON.stringify(typo.testcase.error)).toContain('typo.json: /extra: unknown field `extra`');
    expect(doc.testsuites['#comment']).toContain('policies never determining: forbid- -all');
  });
});
