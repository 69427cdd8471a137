/**
 * Every code the sources emit is in the catalogue (`codes.ts`). Most emitters are typed with
 * `DenyCode`/`ErrorCode`/`DecisionErrorCode`, so a stray code is a compile error; this scan is the
 * backstop for places typing cannot reach (a literal built before it meets a typed slot, a new
 * emitter typed `string`): it reads every source file and fails on a snake_case literal in a code
 * position that the catalogue does not hold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DECISION_ERROR_CODES, DENY_CODES, ERROR_CODES, isApprovalRefusalCode, isDenyCode, isErrorCode } from './codes.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Literals in a code position that are not wire codes, each with why. */
const NOT_CODES: Record<string, string> = {
  unknown_kind: 'libs/platform auth: an internal reason mapped to `unauthorized`',
  no_agent_id: 'libs/platform auth: an internal reason mapped to `unauthorized`',
  no_subject: 'libs/platform auth: an internal reason mapped to `unauthorized`',
  reserved_subject: 'libs/platform auth: an internal reason mapped to `unauthorized`',
  already_decided: 'approval store: an internal outcome answered as `conflict`',
};

const SNAKE = String.raw`'([a-z][a-z0-9]*(?:_[a-z0-9]+)+)'`;
/** Any lowercase word: in a `codes` list nothing but a code is written, so one-word codes are caught there too. */
const WORD = String.raw`'([a-z][a-z0-9_]*)'`;
/**
 * Code positions: `code: 'x'`, `codes: ['x'`, `reason: 'x'`, `codes.push('x')`, `new XError('x'`, and any
 * literal on a line calling a refusal helper.
 */
const POSITIONS = [
  new RegExp(String.raw`\b(?:code|codes|reason)\??\s*[:=]\s*\[?\s*${SNAKE}`, 'g'),
  new RegExp(String.raw`\bcodes\??\s*[:=]\s*\[\s*${WORD}`, 'g'),
  new RegExp(String.raw`\bcodes?\.push\(\s*${WORD}`, 'g'),
  new RegExp(String.raw`\bnew\s+\w*Error\(\s*${SNAKE}`, 'g'),
];
const REFUSAL_CALL = /\b(?:refuse|refusal|refused|recordFailure|deny|tokenRefusal)\(/;

/** The snake_case literals in code positions of one source text. */
function emittedCodes(text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    for (const re of POSITIONS) for (const m of line.matchAll(re)) found.add(m[1]!);
    if (REFUSAL_CALL.test(line)) for (const m of line.matchAll(new RegExp(SNAKE, 'g'))) found.add(m[1]!);
  }
  return [...found];
}

function sourceFiles(dir: string, withTesting = false): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'testdata' || (entry.name === 'testing' && !withTesting)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full, withTesting));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const catalogued = (code: string) => isDenyCode(code) || isErrorCode(code) || Object.hasOwn(DECISION_ERROR_CODES, code);

/** Every source file of the apps and libraries (tests, test helpers unless asked, and the catalogue itself left out). */
function allSourceFiles(withTesting = false): string[] {
  return ['apps', 'libs']
    .flatMap((top) => readdirSync(join(ROOT, top)).map((p) => join(ROOT, top, p, 'src')))
    .flatMap((src) => {
      try {
        return sourceFiles(src, withTesting);
      } catch {
        return [];
      }
    })
    .filter((file) => !file.endsWith(join('contracts', 'src', 'codes.ts')));
}

/** The sources a code may be emitted from, test decision points included. */
function sourceTexts(): string[] {
  return allSourceFiles(true).map((file) => readFileSync(file, 'utf8'));
}

describe('code catalogue', () => {
  it('holds every code the sources emit', () => {
    const files = allSourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const file of files) {
      for (const code of emittedCodes(readFileSync(file, 'utf8'))) {
        if (!catalogued(code) && !Object.hasOwn(NOT_CODES, code)) missing.push(`${relative(ROOT, file)}: ${code}`);
      }
    }
    expect(missing, 'codes emitted but not in libs/contracts/src/codes.ts').toEqual([]);
  });

  it('holds no dead code: every catalogued code is written somewhere in the sources', () => {
    const text = sourceTexts().join('\n');
    const dead = [...Object.keys(DENY_CODES), ...Object.keys(ERROR_CODES), ...Object.keys(DECISION_ERROR_CODES)].filter(
      (code) => !text.includes(`'${code}'`),
    );
    expect(dead, 'codes in libs/contracts/src/codes.ts that nothing emits').toEqual([]);
  });

  it('finds a code in each position it scans', () => {
    const text = [
      "deny([{ code: 'made_up_one', message }], ['made_up_two']);",
      "codes.push('made_up_three');",
      "const r = { codes: ['madeup'] };",
      "throw new RequestRefusedError('made_up_four', message);",
      "return refuse(404, 'not_found', 'made_up_five', `no`);",
      "const x = { reason: 'made_up_six' };",
    ].join('\n');
    expect(emittedCodes(text).sort()).toEqual([
      'made_up_five',
      'made_up_four',
      'made_up_one',
      'made_up_six',
      'made_up_three',
      'made_up_two',
      'madeup',
      'not_found',
    ]);
  });

  it('keeps the families apart: no code is both a deny code and a decision error code', () => {
    for (const code of Object.keys(DECISION_ERROR_CODES)) expect(isDenyCode(code) || isErrorCode(code), code).toBe(false);
    expect(Object.keys(DENY_CODES).length).toBeGreaterThan(40);
    expect(Object.keys(ERROR_CODES)).toContain('internal_error');
  });

  it('tells approval refusals by lookup, not by prefix', () => {
    expect(isApprovalRefusalCode('approval_consumed')).toBe(true);
    expect(isApprovalRefusalCode('approval_unavailable')).toBe(false);
    expect(isApprovalRefusalCode('approval_made_up')).toBe(false);
    expect(isDenyCode('toString')).toBe(false);
  });
});
