/**
 * Policy test suites: `cedar/tests/*.json|yaml`, validated against
 * `schemas/policy-test.schema.json` (unknown keys anywhere are errors, so a typo fails loudly).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthorizeInput, DenyCode, EntityData, ErrorCode } from '@argus/contracts';
import { isDenyCode, isErrorCode, validatorFor } from '@argus/contracts';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { GoalFixture, GovernanceSettings, GrantFixture, RegistryFixtures } from './fixtures.ts';
import type { Usage } from './usage.ts';

/** What a case expects. Every given field must match exactly (lists in any order). */
export interface CaseExpectation {
  decision: 'allow' | 'deny' | 'needs_approval';
  policies?: string[];
  /** Catalogued codes (`docs/codes.md`); an unknown one is a suite problem, not a case that can never pass. */
  codes?: Array<DenyCode | ErrorCode>;
  obligations?: Record<string, unknown>;
}

/** One test case: a `/v1/authorize` input and what it must produce. */
export interface PolicyTestCase {
  name: string;
  description?: string;
  now?: string;
  /**
   * The server's counters for this request (`context.usage`: counter → allowed calls before it);
   * exactly these, `null` for none (counters unreadable). Absent: the suite's `usage`, else every
   * built-in and schema-declared counter at 0 (a fresh server's first call).
   */
  usage?: Usage | null;
  request: AuthorizeInput;
  expect: CaseExpectation;
}

/** A policy test suite file. */
export interface PolicyTestSuite {
  description?: string;
  now?: string;
  /** `context.usage` of every case that gives none (see {@link PolicyTestCase.usage}). */
  usage?: Usage;
  governance?: GovernanceSettings;
  registry?: RegistryFixtures;
  grants?: GrantFixture[];
  goals?: Record<string, GoalFixture>;
  entities?: EntityData[];
  cases?: PolicyTestCase[];
}

/** A problem with a suite file, located by JSON Pointer and, when known, by line. */
export interface SuiteProblem {
  file: string;
  path: string;
  line?: number;
  message: string;
}

/** The answer of `parseSuite`. */
export type SuiteParse = { ok: true; suite: PolicyTestSuite } | { ok: false; problems: SuiteProblem[] };

/** The `$id` of the suite schema. */
export const POLICY_TEST_SCHEMA_ID = 'https://argus.dev/schemas/policy-test.json';

let validateSuite: ((data: unknown) => ReturnType<ReturnType<typeof validatorFor<PolicyTestSuite>>>) | undefined;

/** File name endings a suite may have. */
export const SUITE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** Parses and validates one suite (JSON or YAML — YAML parsing accepts both and keeps positions). */
export function parseSuite(file: string, text: string): SuiteParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        path: '',
        ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
        message: e.message.split('\n')[0]!,
      })),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  validateSuite ??= validatorFor<PolicyTestSuite>(POLICY_TEST_SCHEMA_ID);
  const v = validateSuite(data);
  if (!v.ok) {
    return {
      ok: false,
      problems: v.errors.map((e) => {
        const line = lineOf(doc.contents, e.path, lines);
        return { file, path: e.path, ...(line ? { line } : {}), message: e.message };
      }),
    };
  }
  const unknown = unknownCodes(v.value);
  if (unknown.length > 0) {
    return {
      ok: false,
      problems: unknown.map((u) => ({
        file,
        path: u.path,
        ...withLine(lineOf(doc.contents, u.path, lines)),
        message: `unknown code \`${u.code}\` (docs/codes.md lists them)`,
      })),
    };
  }
  return { ok: true, suite: v.value };
}

function withLine(line: number | undefined): { line?: number } {
  return line ? { line } : {};
}

/** Expected codes the catalogue does not hold: a typo would otherwise fail the case with a confusing diff. */
function unknownCodes(suite: PolicyTestSuite): Array<{ path: string; code: string }> {
  const out: Array<{ path: string; code: string }> = [];
  (suite.cases ?? []).forEach((c, i) =>
    (c.expect.codes ?? []).forEach((code: string, j) => {
      if (!isDenyCode(code) && !isErrorCode(code)) out.push({ path: `/cases/${i}/expect/codes/${j}`, code });
    }),
  );
  return out;
}

function lineOf(root: unknown, pointer: string, lines: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let last: Node | undefined = node ?? undefined;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      last = (pair.key as Node | null) ?? last;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      node = node.items[Number(key)] as Node | null;
    } else {
      break;
    }
    if (node) last = node;
  }
  const at = last?.range?.[0];
  return at === undefined ? undefined : lines.linePos(at).line;
}

/** Every suite file of a folder, sorted. A missing folder holds none. */
export async function listSuiteFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => SUITE_EXTENSIONS.some((ext) => n.endsWith(ext)))
    .sort()
    .map((n) => join(dir, n));
}

/** Reads and parses a suite file. */
export async function readSuite(path: string, displayName = path): Promise<SuiteParse> {
  return parseSuite(displayName, await readFile(path, 'utf8'));
}
