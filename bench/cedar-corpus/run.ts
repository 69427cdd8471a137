/**
 * Cedar's own conformance tests against Argus's production decision path. Reads the test files of
 * a checkout of the Cedar project's integration tests (`tests/**` and the unpacked
 * `corpus-tests.tar.gz`: policies, schema, entities, and requests with the decision, the
 * determining policies and the erroring policies Cedar's reference implementation gave) and runs
 * every request the way libs/decision does: `compilePolicySet` (strict validation against the
 * schema), `sliceFor` with pruned attributes, `contextFor`, `evaluate` without the schema (the
 * compiled evaluation where it applies, cedar-wasm for the rest).
 *
 * Compared after Argus's two documented differences from Cedar: ids (`file#n` for a policy without
 * `@id`, Cedar's `policyN` counting from 0 in the same order) and the fail-closed rule (a forbid
 * that errored turns an allow into a deny, determined by the erroring forbids). A test whose
 * policies do not validate is refused by Argus as a whole (counted, not compared): publishing
 * such a set fails.
 *
 * `--validate-request` runs the other production mode (`policy.validateRequest: true`): each
 * request the test marks `validateRequest` is checked against the schema by cedar-wasm, with the
 * slice unpruned.
 *
 * Usage: npx tsx bench/cedar-corpus/run.ts [--validate-request] <dir> [<dir> ...]   (each dir: a tests root holding
 * `*.json` test files, read recursively; the paths inside them are relative to the dir's parent
 * where they start with the dir's own name, else to the dir). Exit code 1 on any mismatch.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { compilePolicySet, contextFor, evaluate, sliceFor, uidKey, type CedarEntity, type EntityUid } from '@argus/engine';

interface TestRequest {
  description: string;
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: Record<string, unknown>;
  decision: 'allow' | 'deny';
  reason: string[];
  errors: string[];
}
interface TestFile {
  policies: string;
  entities: string;
  schema: string;
  shouldValidate: boolean;
  requests: Array<TestRequest & { validateRequest?: boolean }>;
}
interface Outcome {
  decision: string;
  determining: string[];
  errors: string[];
}

const validateMode = process.argv.includes('--validate-request');
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (dirs.length === 0) {
  console.error('usage: npx tsx bench/cedar-corpus/run.ts <tests dir> [...]');
  process.exit(2);
}

function* testFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* testFiles(p);
    else if (name.endsWith('.json') && !name.endsWith('.entities.json')) yield p;
  }
}

/** A path named in a test file: the Cedar repo's layout names them from its root. */
function resolveIn(root: string, p: string): string {
  for (const base of [root, dirname(root), dirname(dirname(root))]) {
    try {
      statSync(join(base, p));
      return join(base, p);
    } catch {
      // next base
    }
  }
  throw new Error(`${p} not found near ${root}`);
}

/** True when `text` holds an integer JavaScript cannot carry exactly (Argus's API refuses such a body with a 400). */
function unsafeIntegers(text: string): boolean {
  for (const m of text.matchAll(/(?<![\w.])-?\d{16,}(?![\w.])/g)) if (!Number.isSafeInteger(Number(m[0]))) return true;
  return false;
}

const stats = {
  files: 0,
  unrepresentable: 0,
  refused: 0,
  refusedButShouldValidate: 0,
  requests: 0,
  allows: 0,
  withErrors: 0,
  mismatches: 0,
};
const shown: string[] = [];

for (const root of dirs) {
  for (const file of testFiles(root)) {
    let test: TestFile;
    try {
      test = JSON.parse(readFileSync(file, 'utf8')) as TestFile;
    } catch {
      continue;
    }
    if (!Array.isArray(test.requests) || typeof test.policies !== 'string') continue;
    stats.files++;
    const policyText = readFileSync(resolveIn(root, test.policies), 'utf8');
    const schema = readFileSync(resolveIn(root, test.schema), 'utf8');
    const entitiesText = readFileSync(resolveIn(root, test.entities), 'utf8');
    if (unsafeIntegers(entitiesText) || unsafeIntegers(JSON.stringify(test.requests.map((r) => r.context)))) {
      stats.unrepresentable++;
      continue;
    }
    const entities = JSON.parse(entitiesText) as CedarEntity[];
    const compiled = compilePolicySet({ schema, policies: [{ file: 'corpus.cedar', text: policyText }] });
    if (!compiled.ok) {
      stats.refused++;
      if (test.shouldValidate) {
        stats.refusedButShouldValidate++;
        if (shown.length < 40)
          shown.push(`${relative(root, file)}: refused though it validates in Cedar: ${compiled.diagnostics[0]?.message}`);
      }
      continue;
    }
    const set = compiled.policySet;
    // Cedar numbers the policies of a text policy0, policy1, ... in order; Argus names them `file#n` or `@id`.
    const cedarId = new Map([...set.policies.keys()].map((id, i) => [id, `policy${i}`]));
    const forbids = new Set([...set.policies.values()].filter((p) => p.effect === 'forbid').map((p) => cedarId.get(p.id)!));
    const all = new Map(entities.map((e) => [uidKey(e.uid), { ...e, parents: e.parents ?? [], attrs: e.attrs ?? {} }]));
    for (const r of test.requests) {
      stats.requests++;
      const context = r.context ?? {};
      const validateRequest = validateMode && r.validateRequest === true;
      let ours: Outcome;
      try {
        const d = evaluate(
          set,
          {
            principal: r.principal,
            action: r.action,
            resource: r.resource,
            context: validateRequest ? context : contextFor(set, context),
            entities: sliceFor(set, all, [r.principal, r.resource], context, { pruneAttributes: !validateRequest }),
          },
          { validateRequest },
        );
        ours = {
          decision: d.decision,
          determining: d.determining.map((p) => cedarId.get(p.id) ?? p.id).sort(),
          errors: [...new Set(d.errors.map((e) => (e.policyId ? (cedarId.get(e.policyId) ?? e.policyId) : `(${e.code})`)))].sort(),
        };
      } catch (err) {
        ours = { decision: `threw: ${(err as Error).message}`, determining: [], errors: [] };
      }
      // Cedar's answer, then Argus's fail-closed rule.
      const errors = [...new Set(r.errors)].sort();
      const erroredForbids = errors.filter((id) => forbids.has(id));
      const expected: Outcome =
        r.decision === 'allow' && erroredForbids.length > 0
          ? { decision: 'deny', determining: erroredForbids, errors }
          : { decision: r.decision, determining: [...r.reason].sort(), errors };
      if (expected.decision === 'allow') stats.allows++;
      if (errors.length > 0) stats.withErrors++;
      if (JSON.stringify(ours) !== JSON.stringify(expected)) {
        stats.mismatches++;
        if (shown.length < 40)
          shown.push(`${relative(root, file)} "${r.description}": Argus ${JSON.stringify(ours)}, Cedar ${JSON.stringify(expected)}`);
      }
    }
  }
}

console.log(
  `cedar corpus: ${stats.files} test files (${stats.unrepresentable} left out: integers beyond 2^53 in their data), ${stats.refused} refused by strict validation (${stats.refusedButShouldValidate} of them valid in Cedar), ` +
    `${stats.requests} requests compared (${stats.allows} allows, ${stats.withErrors} with an erroring policy), ${stats.mismatches} mismatches`,
);
for (const s of shown) console.log(`  ${s}`);
process.exit(stats.mismatches > 0 || stats.refusedButShouldValidate > 0 ? 1 : 0);
