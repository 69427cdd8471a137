import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { diffCommand, explainCommand, fmtCommand, testCommand, validateCommand, type PolicyIo } from '../policy/commands.ts';
import { makeStyle } from '../style.ts';
import { registerPolicyCommands } from './policy.ts';

const CEDAR = resolve(import.meta.dirname, '../../../../cedar');
const temp = mkdtempSync(join(tmpdir(), 'argus-policy-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let n = 0;
/** A copy of the shipped policy directory (schema, policies, intents, tests) to change freely. */
function copyCedar(): string {
  const dir = join(temp, `cedar-${n++}`);
  cpSync(CEDAR, dir, { recursive: true });
  return dir;
}

function io(stdin = ''): PolicyIo & { out: string; err: string } {
  const buf = { out: '', err: '' };
  return Object.assign(buf, {
    stdout: (t: string) => void (buf.out += t),
    stderr: (t: string) => void (buf.err += t),
    readStdin: async () => stdin,
  });
}

const toolCase = (name: string, intent: string, decision: string) => `
  - name: ${name}
    request:
      principal: { type: Agent, id: bot }
      action: tool:call
      resource: { type: Tool, id: crm/lookup, attributes: { sensitivity: internal, allowedIntents: [lookup-order-status] } }
      intent: ${intent}
    expect: { decision: ${decision} }`;
const SMALL_SUITE = `now: "2026-01-01T00:00:00Z"
registry:
  agents: { bot: { trust: trusted } }
  servers: { crm: { trust: trusted, tools: [{ name: lookup }] } }
cases:${toolCase('serves its intent', 'lookup-order-status', 'allow')}${toolCase('not another intent', 'data-analysis', 'deny')}
`;

describe('argus policy validate', () => {
  it('passes the shipped policies', async () => {
    const o = io();
    expect(await validateCommand(CEDAR, { format: 'text' }, o)).toBe(0);
    expect(o.out).toMatch(/11 policies valid/);
  });

  it("fails with file:line:column, a caret excerpt and Cedar's help", async () => {
    const dir = copyCedar();
    writeFileSync(
      join(dir, 'policies', 'broken.cedar'),
      '@id("typo")\npermit (principal, action, resource is Argus::Tool)\nwhen { resource.sensitivty == "high" };\n',
    );
    const o = io();
    expect(await validateCommand(dir, { format: 'text' }, o)).toBe(1);
    expect(o.err).toContain(`${join(dir, 'policies/broken.cedar')}:3:8: error:`);
    expect(o.err).toMatch(/\n {2}when \{ resource\.sensitivty == "high" \};\n {2} {7}\^+/);
    expect(o.err).toMatch(/help: did you mean `sensitivity`\?/);
    const j = io();
    expect(await validateCommand(dir, { format: 'json' }, j)).toBe(1);
    const report = JSON.parse(j.out);
    expect(report.valid).toBe(false);
    expect(report.diagnostics[0]).toMatchObject({ line: 3, column: 8, policyId: 'typo' });
  });

  it('cannot run without a schema (exit 2)', async () => {
    const o = io();
    expect(await validateCommand(join(temp, 'nowhere'), { format: 'text' }, o)).toBe(2);
    expect(o.err).toContain('cannot read');
  });
});

describe('argus policy fmt', () => {
  it('--check lists unformatted files (exit 1); fmt rewrites them keeping comments; then --check passes', async () => {
    const dir = copyCedar();
    const path = join(dir, 'policies', 'tools.cedar');
    // The shipped files are formatted: make one that is not.
    writeFileSync(
      path,
      `${readFileSync(path, 'utf8')}\n// kept through formatting\n@id("messy")\nforbid(principal,action==Argus::Action::"tool:call",resource)when{context.intent=="x"};\n`,
    );
    const before = readFileSync(path, 'utf8');
    const check = io();
    expect(await fmtCommand(dir, { check: true }, check)).toBe(1);
    // --check names exactly the files that WOULD change, and says it wrote nothing.
    expect(check.out).toBe(`would reformat ${path}\n1 of 3 file(s) would be reformatted; run \`argus policy fmt\` to write them\n`);
    expect(readFileSync(path, 'utf8')).toBe(before);
    const write = io();
    expect(await fmtCommand(dir, {}, write)).toBe(0);
    // fmt names the files it formatted.
    expect(write.out).toBe(`formatted ${path}\n1 file(s) formatted, 2 already formatted\n`);
    const after = readFileSync(path, 'utf8');
    expect(after).not.toBe(before);
    expect(after).toContain('// Tool calls: the declared intent must be one the tool is meant for');
    const clean = io();
    expect(await fmtCommand(dir, { check: true }, clean)).toBe(0);
    expect(clean.out).toBe('already formatted: 3 file(s), none would change\n');
    expect(await fmtCommand(dir, {}, clean)).toBe(0);
    expect(clean.out).toContain('0 file(s) formatted, 3 already formatted\n');
    expect(await validateCommand(dir, { format: 'text' }, io())).toBe(0);
  });

  it('reports a file that does not parse (exit 1)', async () => {
    const dir = copyCedar();
    writeFileSync(join(dir, 'policies', 'bad.cedar'), 'permit (principal, action, resource) when { 1 + };\n');
    const o = io();
    expect(await fmtCommand(dir, { check: true }, o)).toBe(1);
    expect(o.err).toContain('bad.cedar:1:');
  });
});

describe('argus policy test', () => {
  it('exits 2 when the policy set is invalid: nothing could run', async () => {
    const dir = copyCedar();
    writeFileSync(join(dir, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { principal.nope };\n');
    const o = io();
    expect(await testCommand(dir, { format: 'text' }, o)).toBe(2);
    expect(o.err).toContain('the policy set is invalid: no test can run');
    expect(o.out).toBe('');
  });

  it('colours ok and FAIL only when the stream has colour', async () => {
    const dir = copyCedar();
    rmSync(join(dir, 'tests'), { recursive: true });
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    writeFileSync(join(tests, 'zz-wrong.yaml'), SMALL_SUITE.replace('expect: { decision: deny }', 'expect: { decision: allow }'));
    const plain = io();
    expect(await testCommand(dir, { format: 'text', tests }, plain)).toBe(1);
    expect(plain.out).not.toContain('\u001b[');
    const coloured = Object.assign(io(), { style: { stdout: makeStyle(true), stderr: makeStyle(true) } });
    expect(await testCommand(dir, { format: 'text', tests }, coloured)).toBe(1);
    expect(coloured.out).toContain('\u001b[31mFAIL\u001b[39m not another intent');
    expect(coloured.out).toContain('\u001b[32mok  \u001b[39m');
  });

  it('passes the shipped suites with full coverage', async () => {
    const o = io();
    expect(await testCommand(CEDAR, { format: 'json', requireCoverage: true }, o)).toBe(0);
    const report = JSON.parse(o.out);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(40);
    expect(report.coverage).toMatchObject({ ratio: 1, uncovered: [] });
  });

  it('fails a case whose expectation is wrong, naming what differed', async () => {
    const dir = copyCedar();
    rmSync(join(dir, 'tests'), { recursive: true });
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    writeFileSync(
      join(tests, 'zz-wrong.yaml'),
      SMALL_SUITE.replace('expect: { decision: deny }', 'expect: { decision: allow, policies: [made-up] }'),
    );
    const o = io();
    expect(await testCommand(dir, { format: 'text', tests }, o)).toBe(1);
    expect(o.out).toContain('FAIL not another intent');
    expect(o.out).toContain('decision: expected allow, got deny');
    expect(o.out).toContain('determining policies: expected made-up, got (none)');
  });

  it('holds an approval-gated permit as the server does: a suite expects needs_approval', async () => {
    const dir = copyCedar();
    rmSync(join(dir, 'tests'), { recursive: true });
    writeFileSync(
      join(dir, 'policies', 'zz-gated.cedar'),
      '@id("refunds-need-approval")\n@effect("require_approval")\npermit (principal, action == Argus::Action::"tool:call", resource == Argus::Tool::"crm/refund");\n',
    );
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    const refund = `
  - name: a refund waits for a human
    request:
      principal: { type: Agent, id: bot }
      action: tool:call
      resource: { type: Tool, id: crm/refund, attributes: { sensitivity: internal, allowedIntents: [lookup-order-status] } }
      intent: lookup-order-status
    expect: { decision: needs_approval }`;
    writeFileSync(join(tests, 'zz-gated.yaml'), `${SMALL_SUITE.split('cases:')[0]}cases:${refund}\n`);
    const o = io();
    expect(await testCommand(dir, { format: 'text', tests }, o), o.out).toBe(0);
    expect(o.out).toContain('ok   a refund waits for a human');
  });

  it("a typo'd key fails the suite with its path and line", async () => {
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    writeFileSync(join(tests, 'typo.yaml'), SMALL_SUITE.replace('expect: { decision: allow }', 'expect: { decison: allow }'));
    const o = io();
    expect(await testCommand(CEDAR, { format: 'text', tests }, o)).toBe(1);
    expect(o.out).toMatch(/typo\.yaml:\d+: \/cases\/0\/expect\/decison: /);
  });

  it('reports uncovered policies, and --require-coverage fails on them', async () => {
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    rmSync(join(tests, 'agents.yaml'));
    writeFileSync(join(tests, 'small.yaml'), SMALL_SUITE);
    const o = io();
    expect(await testCommand(CEDAR, { format: 'text', tests }, o)).toBe(0);
    expect(o.out).toMatch(/never determining \(3\):/);
    expect(o.out).toContain('trusted-agents-invoke-models (permit, policies/agents.cedar:');
    const strict = io();
    expect(await testCommand(CEDAR, { format: 'json', tests, requireCoverage: true }, strict)).toBe(1);
    expect(
      JSON.parse(strict.out)
        .coverage.uncovered.map((p: { id: string }) => p.id)
        .sort(),
    ).toEqual(['stale-agents-keep-off-sensitive-tools', 'trusted-agents-connect-trusted-servers', 'trusted-agents-invoke-models']);
  });

  it('writes JUnit XML that parses, failures included', async () => {
    const tests = join(temp, `tests-${n++}`);
    cpSync(join(CEDAR, 'tests'), tests, { recursive: true });
    writeFileSync(join(tests, 'zz-wrong.yaml'), SMALL_SUITE.replace('expect: { decision: deny }', 'expect: { decision: allow }'));
    writeFileSync(join(tests, 'zz-typo.json'), JSON.stringify({ cases: [], extra: 1 }));
    const o = io();
    expect(await testCommand(CEDAR, { format: 'junit', tests }, o)).toBe(1);
    expect(XMLValidator.validate(o.out)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(o.out);
    const suites = doc.testsuites.testsuite as Array<{ name: string; failures: string; errors: string; testcase: unknown }>;
    expect(suites.map((s) => s.name).some((s) => s.endsWith('tools.yaml'))).toBe(true);
    expect(doc.testsuites.failures).toBe('1');
    expect(doc.testsuites.errors).toBe('1');
    const wrong = suites.find((s) => s.name.endsWith('zz-wrong.yaml'))!;
    expect(JSON.stringify(wrong.testcase)).toContain('decision: expected allow, got deny');
  });

  it('cannot run without suites (exit 2)', async () => {
    expect(await testCommand(CEDAR, { format: 'text', tests: join(temp, 'empty') }, io())).toBe(2);
  });
});

describe('argus policy explain', () => {
  const body = {
    input: {
      principal: { type: 'Agent', id: 'support-bot' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm/lookup', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'data-analysis',
    },
  };
  const fixtures = join(CEDAR, 'tests', 'tools.yaml');

  it('names the closest permit and the condition it needed', async () => {
    const o = io(JSON.stringify(body));
    expect(await explainCommand(undefined, { policies: CEDAR, fixtures, format: 'text' }, o)).toBe(0);
    expect(o.out).toContain('decision: deny');
    expect(o.out).toContain('no permit matched; closest permits');
    expect(o.out).toContain('tools-serve-their-intents (permit, policies/tools.cedar:');
    expect(o.out).toContain('FAIL when { resource.allowedIntents.contains(context.intent) }');
    expect(o.out).toContain('where resource.allowedIntents = ["lookup-order-status"], context.intent = "data-analysis"');
    expect(o.out).toContain('Argus::Tool::"crm/lookup" in [Argus::McpServer::"crm"]');
  });

  it('gives determining policies with annotations, facts and the slice as JSON', async () => {
    const file = join(temp, 'explain.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...body,
        input: {
          ...body.input,
          resource: { type: 'Tool', id: 'scraper/fetch', attributes: { sensitivity: 'public', allowedIntents: ['research'] } },
          intent: 'research',
        },
      }),
    );
    const o = io();
    expect(await explainCommand(file, { policies: CEDAR, fixtures, format: 'json' }, o)).toBe(0);
    const report = JSON.parse(o.out);
    expect(report.response.result.decision).toBe('deny');
    expect(report.response.result.reasons[0]).toMatchObject({
      policy: 'untrusted-servers-are-off-limits',
      effect: 'forbid',
      annotations: { reason: expect.stringContaining('not trusted') },
    });
    expect(report.response.result.facts.resource.serverTrust).toBe('pending');
    expect(report.response.result.explanation.entities.length).toBeGreaterThan(0);
    expect(report.explanation.noMatchingPermit).toBe(false);
  });

  it('refuses a request that is not an authorize body (exit 2)', async () => {
    const o = io(
      JSON.stringify({
        input: { principal: { type: 'Agent', id: 'x' }, action: 'tool:call', resource: { type: 'Tool', id: 'y' }, intnet: 'typo' },
      }),
    );
    expect(await explainCommand('-', { policies: CEDAR, format: 'text' }, o)).toBe(2);
    expect(o.err).toContain('/input/intnet');
  });
});

describe('argus policy diff', () => {
  const requests = [
    {
      principal: { type: 'Agent', id: 'support-bot' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm/lookup', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'lookup-order-status',
    },
    {
      input: {
        principal: { type: 'Agent', id: 'support-bot' },
        action: 'llm:invoke',
        resource: { type: 'Model', id: 'gpt-4o', attributes: { provider: 'openai' } },
      },
    },
    // An audit export record: the decision as it was recorded.
    {
      kind: 'decision',
      decision_id: 'd1',
      principal: { type: 'Agent', id: 'support-bot' },
      delegation: [],
      action: 'mcp:connect',
      resource: { type: 'McpServer', id: 'crm' },
      outcome: 'allow',
      policies: ['trusted-agents-connect-trusted-servers'],
    },
  ];
  let candidate: string;
  let file: string;
  beforeEach(() => {
    candidate = copyCedar();
    writeFileSync(
      join(candidate, 'policies', 'freeze.cedar'),
      '@id("freeze-crm")\n@reason("crm change freeze")\nforbid (principal, action == Argus::Action::"tool:call", resource in Argus::McpServer::"crm");\n',
    );
    file = join(temp, `requests-${n++}.jsonl`);
    writeFileSync(file, requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
  const fixtures = join(CEDAR, 'tests', 'tools.yaml');

  it('lists the decisions that would flip', async () => {
    const o = io();
    expect(await diffCommand(CEDAR, candidate, { requests: file, fixtures, format: 'text' }, o)).toBe(0);
    expect(o.out).toContain(
      `${file}:1: allow → deny  Agent::"support-bot" tool:call Tool::"crm/lookup"  [+freeze-crm -tools-serve-their-intents]`,
    );
    expect(o.out).toContain('3 request(s): 1 flip(s) (1 allow→deny), 0 re-attributed');
    const strict = io();
    expect(await diffCommand(CEDAR, candidate, { requests: file, fixtures, format: 'json', failOnFlip: true }, strict)).toBe(1);
    expect(JSON.parse(strict.out).flips).toEqual([expect.objectContaining({ line: 1, from: 'allow', to: 'deny', added: ['freeze-crm'] })]);
  });

  it('passes --fail-on-flip when nothing flips', async () => {
    expect(await diffCommand(CEDAR, CEDAR, { requests: file, fixtures, format: 'text', failOnFlip: true }, io())).toBe(0);
  });

  it('names the line of a bad request (exit 2)', async () => {
    writeFileSync(file, `${JSON.stringify(requests[0])}\n{"principal":{"type":"Agent","id":"x"},"action":"tool:call"}\n`);
    const o = io();
    expect(await diffCommand(CEDAR, candidate, { requests: file, format: 'text' }, o)).toBe(2);
    expect(o.err).toContain(`${file}:2:`);
  });
});

describe('the commander wiring', () => {
  function program(out: { text: string }) {
    const p = new Command('argus')
      .exitOverride()
      .configureOutput({ writeOut: (s) => void (out.text += s), writeErr: (s) => void (out.text += s) });
    registerPolicyCommands(p, io());
    return p;
  }

  it('has --help on every command', async () => {
    for (const sub of ['validate', 'fmt', 'test', 'explain', 'diff']) {
      const out = { text: '' };
      await expect(program(out).parseAsync(['node', 'argus', 'policy', sub, '--help'])).rejects.toMatchObject({
        code: 'commander.helpDisplayed',
      });
      expect(out.text).toContain(`Usage: argus policy ${sub}`);
    }
  });

  it('sets the exit code of `argus policy test cedar --require-coverage`', async () => {
    const previous = process.exitCode;
    try {
      await program({ text: '' }).parseAsync(['node', 'argus', 'policy', 'test', CEDAR, '--require-coverage']);
      expect(process.exitCode).toBe(0);
      await program({ text: '' }).parseAsync(['node', 'argus', 'policy', 'validate', join(temp, 'nowhere')]);
      expect(process.exitCode).toBe(2);
    } finally {
      process.exitCode = previous;
    }
  });
});
