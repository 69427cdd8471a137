/**
 * The implementations of `argus policy validate|fmt|test|explain|diff` (registered by
 * `../commands/policy.ts`, which loads this module only when a policy command runs: it brings
 * Cedar and the decision service). Exit codes: 0 pass, 1 fail (a check, a test or a flip),
 * 2 cannot run.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPolicyDir, SCHEMA_FILE } from '@argus/apdp';
import type { AuthorizeResponse } from '@argus/contracts';
import {
  compareDecisions,
  compilePolicySet,
  countFlips,
  explainRequest,
  formatDiagnostic,
  formatPolicyText,
  uidKey,
  type CedarEntity,
  type Diagnostic,
  type EntityUid,
  type Explanation,
  type PolicyInfo,
} from '@argus/engine';
import { InvalidInputError } from '@argus/platform';
import { makeStyle, type Style } from '../style.ts';
import { renderRun, type ReportFormat } from './report.ts';
import { parseRequests, toRequest, type ReadRequest } from './requests.ts';
import { runSuites, type BrokenSuite, type RunnableSuite } from './runner.ts';
import { listSuiteFiles, readSuite, type PolicyTestSuite, type SuiteProblem } from './suite.ts';
import { fixtureDecisions, loadWorkspace, type PolicyWorkspace } from './workspace.ts';

/** Exit codes of every `argus policy` command. */
export const EXIT = { ok: 0, failed: 1, cannotRun: 2 } as const;

/** Where a command writes and reads; tests pass their own. */
export interface PolicyIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** Colour for what goes to stdout and stderr (none when absent). */
  style?: { stdout: Style; stderr: Style };
}

const PLAIN = makeStyle(false);
const outStyle = (io: PolicyIo): Style => io.style?.stdout ?? PLAIN;
const errStyle = (io: PolicyIo): Style => io.style?.stderr ?? PLAIN;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The policy directory when none is given: `./cedar` if it holds a schema, else the repository's. */
export function defaultPolicyDir(): string {
  return existsSync(join('cedar', SCHEMA_FILE)) ? 'cedar' : join(REPO_ROOT, 'cedar');
}

function renderDiagnostics(diagnostics: readonly Diagnostic[], dir: string): string {
  return diagnostics.map((d) => formatDiagnostic({ ...d, file: displayPath(dir, d.file) })).join('\n\n') + '\n';
}

function displayPath(dir: string, file: string): string {
  return file.startsWith('<') ? file : join(dir, file);
}

/** `argus policy validate`: 0 valid, 1 invalid, 2 unreadable. */
export async function validateCommand(dir: string, opts: { format: 'text' | 'json' }, io: PolicyIo): Promise<number> {
  let input;
  try {
    input = await readPolicyDir(dir);
  } catch (err) {
    io.stderr(`argus policy validate: cannot read \`${dir}\`: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.cannotRun;
  }
  const result = compilePolicySet(input);
  const diagnostics = result.ok ? [] : result.diagnostics;
  const warnings = result.ok ? result.warnings : [];
  if (opts.format === 'json') {
    const located = (d: Diagnostic) => ({ ...d, file: displayPath(dir, d.file) });
    io.stdout(
      `${JSON.stringify(
        {
          valid: result.ok,
          ...(result.ok ? { version: result.policySet.version, policies: result.policySet.policies.size } : {}),
          diagnostics: diagnostics.map(located),
          warnings: warnings.map(located),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    if (warnings.length > 0) io.stderr(renderDiagnostics(warnings, dir));
    if (result.ok)
      io.stdout(
        `${dir}: ${outStyle(io).ok(`${result.policySet.policies.size} policies valid`)} against the schema (${result.policySet.version})\n`,
      );
    else
      io.stderr(
        `${renderDiagnostics(diagnostics, dir)}${errStyle(io).fail(`${diagnostics.length} error(s); the policy set is invalid`)}\n`,
      );
  }
  return result.ok ? EXIT.ok : EXIT.failed;
}

/** `argus policy fmt`: 0 formatted (or nothing to do), 1 unformatted files under `--check` or files refused, 2 unreadable. */
export async function fmtCommand(dir: string, opts: { check?: boolean; lineWidth?: string }, io: PolicyIo): Promise<number> {
  let input;
  try {
    input = await readPolicyDir(dir);
  } catch (err) {
    io.stderr(`argus policy fmt: cannot read \`${dir}\`: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.cannotRun;
  }
  const lineWidth = Number(opts.lineWidth ?? '80');
  if (!Number.isInteger(lineWidth) || lineWidth < 20 || lineWidth > 400) {
    io.stderr('argus policy fmt: --line-width must be an integer between 20 and 400\n');
    return EXIT.cannotRun;
  }
  let failed = false;
  const unformatted: string[] = [];
  let written = 0;
  for (const source of input.policies) {
    const path = join(dir, source.file);
    const r = formatPolicyText(source.file, source.text, { lineWidth });
    if (!r.ok) {
      io.stderr(renderDiagnostics(r.diagnostics, dir));
      failed = true;
      continue;
    }
    if (!r.changed) continue;
    if (r.droppedComments.length > 0) {
      io.stderr(
        `${path}: not formatted: the formatter would drop ${r.droppedComments.length} comment(s), so the file is left alone; move these comments above a policy:\n${r.droppedComments.map((c) => `  ${c}`).join('\n')}\n`,
      );
      failed = true;
      continue;
    }
    unformatted.push(path);
    if (!opts.check) {
      await writeFile(path, r.formatted, 'utf8');
      written++;
    }
  }
  const st = outStyle(io);
  const total = input.policies.length;
  if (opts.check) {
    for (const f of unformatted) io.stdout(`${st.warn('would reformat')} ${f}\n`);
    if (unformatted.length > 0)
      io.stdout(`${unformatted.length} of ${total} file(s) would be reformatted; run \`argus policy fmt\` to write them\n`);
    else if (!failed) io.stdout(`${st.ok('already formatted')}: ${total} file(s), none would change\n`);
    return failed || unformatted.length > 0 ? EXIT.failed : EXIT.ok;
  }
  for (const f of unformatted) io.stdout(`${st.ok('formatted')} ${f}\n`);
  io.stdout(`${written} file(s) formatted, ${total - written} already formatted${failed ? ', some left alone (see above)' : ''}\n`);
  return failed ? EXIT.failed : EXIT.ok;
}

/** Options of `argus policy test`. */
export interface TestOptions {
  tests?: string;
  format: ReportFormat;
  output?: string;
  requireCoverage?: boolean;
}

/** `argus policy test`: 0 all cases pass (and coverage when required), 1 a failure, 2 cannot run. */
export async function testCommand(dir: string, opts: TestOptions, io: PolicyIo): Promise<number> {
  const loaded = await loadWorkspace(dir);
  if (!loaded.ok) {
    if (loaded.reason === 'unreadable') {
      io.stderr(`argus policy test: ${loaded.message}\n`);
      return EXIT.cannotRun;
    }
    io.stderr(`${renderDiagnostics(loaded.diagnostics, dir)}${errStyle(io).fail('the policy set is invalid: no test can run')}\n`);
    return EXIT.cannotRun;
  }
  const testsDir = opts.tests ?? join(dir, 'tests');
  const files = await listSuiteFiles(testsDir);
  if (files.length === 0) {
    io.stderr(`argus policy test: no test suites (*.json, *.yaml) in \`${testsDir}\`\n`);
    return EXIT.cannotRun;
  }
  const suites: RunnableSuite[] = [];
  const broken: BrokenSuite[] = [];
  for (const file of files) {
    const name = relative(process.cwd(), file) || file;
    const parsed = await readSuite(file, name);
    if (parsed.ok) suites.push({ name, suite: parsed.suite });
    else broken.push({ suite: name, problems: parsed.problems });
  }
  const run = await runSuites(loaded.workspace, suites, broken);
  const report = renderRun(run, opts.format, opts.output ? PLAIN : outStyle(io));
  if (opts.output) await writeFile(opts.output, report, 'utf8');
  else io.stdout(report);
  if (opts.output && opts.format !== 'text') io.stdout(renderRun(run, 'text', outStyle(io)));
  const coverageFailed = opts.requireCoverage === true && run.coverage.uncovered.length > 0;
  if (coverageFailed) io.stderr(`coverage required: ${run.coverage.uncovered.length} policy(ies) never determined a case\n`);
  return run.failed > 0 || run.broken.length > 0 || coverageFailed ? EXIT.failed : EXIT.ok;
}

async function loadFixtures(path: string | undefined, io: PolicyIo, command: string): Promise<PolicyTestSuite | undefined | false> {
  if (!path) return undefined;
  let parsed;
  try {
    parsed = await readSuite(path);
  } catch (err) {
    io.stderr(`argus policy ${command}: cannot read \`${path}\`: ${err instanceof Error ? err.message : String(err)}\n`);
    return false;
  }
  if (!parsed.ok) {
    io.stderr(problemsText(parsed.problems));
    return false;
  }
  return parsed.suite;
}

function problemsText(problems: readonly SuiteProblem[]): string {
  return `${problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.path || '/'}: ${p.message}`).join('\n')}\n`;
}

async function openWorkspace(dir: string, io: PolicyIo, command: string): Promise<PolicyWorkspace | undefined> {
  const loaded = await loadWorkspace(dir);
  if (loaded.ok) return loaded.workspace;
  if (loaded.reason === 'unreadable') io.stderr(`argus policy ${command}: ${loaded.message}\n`);
  else io.stderr(`${renderDiagnostics(loaded.diagnostics, dir)}argus policy ${command}: the policy set in \`${dir}\` is invalid\n`);
  return undefined;
}

function decisionTime(now: string | undefined, fixtures: PolicyTestSuite | undefined, io: PolicyIo, command: string): Date | undefined {
  const text = now ?? fixtures?.now;
  const at = text ? new Date(text) : new Date();
  if (Number.isNaN(at.getTime())) {
    io.stderr(`argus policy ${command}: --now \`${text}\` is not an ISO 8601 time\n`);
    return undefined;
  }
  return at;
}

/** Options of `argus policy explain`. */
export interface ExplainOptions {
  policies?: string;
  fixtures?: string;
  now?: string;
  permits?: string;
  format: 'text' | 'json';
}

/** The JSON answer of `argus policy explain`. */
export interface ExplainReport {
  response: AuthorizeResponse;
  explanation?: Explanation;
}

/** `argus policy explain`: 0 explained (whatever the decision), 2 cannot run (bad request, bad set). */
export async function explainCommand(file: string | undefined, opts: ExplainOptions, io: PolicyIo): Promise<number> {
  const dir = opts.policies ?? defaultPolicyDir();
  const workspace = await openWorkspace(dir, io, 'explain');
  if (!workspace) return EXIT.cannotRun;
  const fixtures = await loadFixtures(opts.fixtures, io, 'explain');
  if (fixtures === false) return EXIT.cannotRun;
  const now = decisionTime(opts.now, fixtures, io, 'explain');
  if (!now) return EXIT.cannotRun;

  let text: string;
  try {
    text = file === undefined || file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    io.stderr(`argus policy explain: cannot read \`${file}\`: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.cannotRun;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    io.stderr(`argus policy explain: the request is not JSON: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.cannotRun;
  }
  const read = toRequest(doc, 1);
  if (!read.ok) {
    io.stderr(`argus policy explain: invalid request\n${read.problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}\n`);
    return EXIT.cannotRun;
  }
  const decisions = fixtureDecisions(workspace.input, workspace.intents, fixtures ?? {});
  decisions.setNow(now);
  let response: AuthorizeResponse;
  try {
    response = await decisions.service.decide(
      read.request.input,
      { caller: { kind: 'cli' }, explain: 'full', audit: false },
      fixtures?.entities ?? [],
    );
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(`argus policy explain: ${err.message}\n${err.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}\n`);
      return EXIT.cannotRun;
    }
    throw err;
  }
  const cedarRequest = response.result.explanation;
  let explanation: Explanation | undefined;
  if (cedarRequest) {
    const r = cedarRequest.request as { principal: EntityUid; action: EntityUid; resource: EntityUid };
    explanation = explainRequest(workspace.set, {
      principal: r.principal,
      action: r.action,
      resource: r.resource,
      context: cedarRequest.context as never,
      entities: cedarRequest.entities as CedarEntity[],
    });
  }
  if (opts.format === 'json') {
    const report: ExplainReport = { response, ...(explanation ? { explanation } : {}) };
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.stdout(explainText(workspace, response, explanation, Number(opts.permits ?? '3')));
  }
  return EXIT.ok;
}

function policyLine(p: PolicyInfo): string {
  return `${p.id} (${p.effect}, ${p.file}:${p.line})`;
}

function explainText(workspace: PolicyWorkspace, response: AuthorizeResponse, x: Explanation | undefined, maxPermits: number): string {
  const r = response.result;
  const out: string[] = [`decision: ${r.decision}   (policy version ${response.policy_version})`];
  if (r.codes?.length)
    out.push(`hard deny codes: ${r.codes.join(', ')}${typeof r.facts?.hardDeny === 'string' ? ` — ${r.facts.hardDeny}` : ''}`);
  if (r.reasons.length > 0) {
    out.push('determining policies:');
    for (const reason of r.reasons) {
      const p = workspace.set.policies.get(reason.policy);
      out.push(`  ${p ? policyLine(p) : `${reason.policy} (${reason.effect})`}`);
      for (const [k, v] of Object.entries(reason.annotations)) if (k !== 'id') out.push(`      @${k}: ${v}`);
    }
  }
  if (r.errors.length > 0) {
    out.push('errors:');
    for (const e of r.errors) out.push(`  ${e.code}${e.policy ? ` ${e.policy}` : ''}: ${e.message}`);
  }
  if (r.facts) out.push('facts:', indent(JSON.stringify(r.facts, null, 2)));
  if (r.explanation) {
    const req = r.explanation.request as Record<string, EntityUid>;
    out.push(
      'request:',
      `  principal ${uidKey(req.principal!)}`,
      `  action    ${uidKey(req.action!)}`,
      `  resource  ${uidKey(req.resource!)}`,
    );
    out.push('context:', indent(JSON.stringify(r.explanation.context, null, 2)));
    out.push('entities (the slice Cedar saw):');
    for (const e of r.explanation.entities as CedarEntity[]) {
      const parents = e.parents.length > 0 ? ` in [${e.parents.map(uidKey).join(', ')}]` : '';
      out.push(`  ${uidKey(e.uid)}${parents} ${JSON.stringify(e.attrs)}`);
    }
  }
  if (x) {
    const shown = x.permits.slice(0, Math.max(0, maxPermits));
    if (r.decision !== 'allow' && x.noMatchingPermit) {
      out.push(
        x.permits.length === 0
          ? 'no permit applies to this action at all'
          : `no permit matched; closest permits (${shown.length} of ${x.permits.length}):`,
      );
    } else if (r.decision !== 'allow') {
      out.push('satisfied permits (overridden by the forbid above):');
    } else {
      out.push('permits:');
    }
    for (const a of r.decision !== 'allow' && !x.noMatchingPermit ? x.permits.filter((p) => p.satisfied) : shown) {
      out.push(`  ${policyLine(a.policy)}${a.satisfied ? ' — satisfied' : ''}`);
      if (typeof a.policy.annotations.reason === 'string') out.push(`      @reason: ${a.policy.annotations.reason}`);
      const scope = Object.entries(a.scope).map(([k, ok]) => `${k} ${ok ? 'matched' : 'did not match'}`);
      out.push(`      scope: ${a.scopeMatched ? 'matched' : scope.filter((s) => s.endsWith('not match')).join(', ')}`);
      for (const c of a.conditions) {
        const mark = c.outcome === 'holds' ? 'ok  ' : c.outcome === 'fails' ? 'FAIL' : c.outcome === 'error' ? 'ERR ' : '--  ';
        out.push(`      ${mark} ${c.kind} { ${c.text} }${c.message ? ` (${c.message})` : ''}`);
        if (c.values) {
          const seen = Object.entries(c.values).map(([path, v]) => `${path} = ${v === undefined ? '(absent)' : JSON.stringify(v)}`);
          out.push(`             where ${seen.join(', ')}`);
        }
      }
      if (!a.satisfied && a.needed.length > 0) out.push(`      needed: ${a.needed.join('; ')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Options of `argus policy diff`. */
export interface DiffOptions {
  requests: string;
  fixtures?: string;
  now?: string;
  failOnFlip?: boolean;
  format: 'text' | 'json';
}

/** One flipped (or re-attributed) decision of a diff. */
export interface DiffEntry {
  line: number;
  principal: string;
  action: string;
  resource: string;
  from: string;
  to: string;
  added: string[];
  removed: string[];
  recorded?: string;
}

/** `argus policy diff`: 0 no flip (or flips without `--fail-on-flip`), 1 flips with `--fail-on-flip`, 2 cannot run. */
export async function diffCommand(oldDir: string, newDir: string, opts: DiffOptions, io: PolicyIo): Promise<number> {
  const before = await openWorkspace(oldDir, io, 'diff');
  if (!before) return EXIT.cannotRun;
  const after = await openWorkspace(newDir, io, 'diff');
  if (!after) return EXIT.cannotRun;
  const fixtures = await loadFixtures(opts.fixtures, io, 'diff');
  if (fixtures === false) return EXIT.cannotRun;
  const now = decisionTime(opts.now, fixtures, io, 'diff');
  if (!now) return EXIT.cannotRun;
  let text: string;
  try {
    text = await readFile(opts.requests, 'utf8');
  } catch (err) {
    io.stderr(`argus policy diff: cannot read \`${opts.requests}\`: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.cannotRun;
  }
  const { requests, problems } = parseRequests(text);
  if (problems.length > 0) {
    io.stderr(`${problems.map((p) => `${opts.requests}:${p.line}: ${p.path || '/'}: ${p.message}`).join('\n')}\n`);
    return EXIT.cannotRun;
  }
  const a = fixtureDecisions(before.input, before.intents, fixtures ?? {});
  const b = fixtureDecisions(after.input, after.intents, fixtures ?? {});
  a.setNow(now);
  b.setNow(now);
  const flips: DiffEntry[] = [];
  const reattributed: DiffEntry[] = [];
  const changes = [];
  const refused: string[] = [];
  for (const req of requests) {
    const decided = await Promise.all([decideOrRefuse(a, req, fixtures), decideOrRefuse(b, req, fixtures)]);
    if (typeof decided[0] === 'string' || typeof decided[1] === 'string') {
      refused.push(`${opts.requests}:${req.line}: ${typeof decided[0] === 'string' ? decided[0] : decided[1]}`);
      continue;
    }
    const [x, y] = decided as [AuthorizeResponse, AuthorizeResponse];
    const change = compareDecisions(
      { decision: x.result.decision, policies: x.result.reasons.map((r) => r.policy) },
      { decision: y.result.decision, policies: y.result.reasons.map((r) => r.policy) },
    );
    changes.push(change);
    if (!change.flipped && change.added.length + change.removed.length === 0) continue;
    const entry: DiffEntry = {
      line: req.line,
      principal: `${req.input.principal.type}::${JSON.stringify(req.input.principal.id)}`,
      action: req.input.action,
      resource: `${req.input.resource.type}::${JSON.stringify(req.input.resource.id)}`,
      from: change.from,
      to: change.to,
      added: change.added,
      removed: change.removed,
      ...(req.recorded ? { recorded: req.recorded.outcome } : {}),
    };
    (change.flipped ? flips : reattributed).push(entry);
  }
  if (refused.length > 0) {
    io.stderr(`${refused.join('\n')}\n`);
    return EXIT.cannotRun;
  }
  const counts = countFlips(changes);
  if (opts.format === 'json') {
    io.stdout(
      `${JSON.stringify({ requests: requests.length, oldVersion: before.set.version, newVersion: after.set.version, flips, reattributed, counts }, null, 2)}\n`,
    );
  } else {
    const out: string[] = [];
    for (const f of flips)
      out.push(
        `${opts.requests}:${f.line}: ${f.from} → ${f.to}  ${f.principal} ${f.action} ${f.resource}${policyDelta(f)}${f.recorded ? `  (recorded: ${f.recorded})` : ''}`,
      );
    if (reattributed.length > 0) {
      out.push(`same outcome, different determining policies (${reattributed.length}):`);
      for (const f of reattributed)
        out.push(`  ${opts.requests}:${f.line}: ${f.to}  ${f.principal} ${f.action} ${f.resource}${policyDelta(f)}`);
    }
    const summary = Object.entries(counts)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    out.push(
      `${requests.length} request(s): ${flips.length} flip(s)${summary ? ` (${summary})` : ''}, ${reattributed.length} re-attributed`,
    );
    io.stdout(`${out.join('\n')}\n`);
  }
  return flips.length > 0 && opts.failOnFlip ? EXIT.failed : EXIT.ok;
}

function policyDelta(f: DiffEntry): string {
  const parts = [...f.added.map((id) => `+${id}`), ...f.removed.map((id) => `-${id}`)];
  return parts.length > 0 ? `  [${parts.join(' ')}]` : '';
}

async function decideOrRefuse(
  decisions: ReturnType<typeof fixtureDecisions>,
  req: ReadRequest,
  fixtures: PolicyTestSuite | undefined,
): Promise<AuthorizeResponse | string> {
  try {
    return await decisions.service.decide(
      req.input,
      { caller: { kind: 'cli' }, explain: 'reasons', audit: false },
      fixtures?.entities ?? [],
    );
  } catch (err) {
    if (err instanceof InvalidInputError) return `${err.message}${err.errors.map((e) => ` (${e.path}: ${e.message})`).join('')}`;
    throw err;
  }
}
