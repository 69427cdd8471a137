#!/usr/bin/env node
// Runs every project's type check and tests through Nx, then prints one summary line over all projects.
// Exit code: non-zero when any target failed, any test failed, lint failed or a file is not formatted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const reportDir = mkdtempSync(join(tmpdir(), 'argus-test-'));
const args = ['nx', 'run-many', '-t', 'typecheck', 'test', '--outputStyle=stream', '--parallel=2', ...process.argv.slice(2)];
const run = spawnSync('npx', args, {
  stdio: 'inherit',
  env: { ...process.env, ARGUS_TEST_REPORT_DIR: reportDir, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
});

// Lint (module boundaries, the pure core's import ban, 140 columns) and formatting are part of the test run.
const lint = spawnSync('npx', ['eslint', '.', '--max-warnings=0'], { stdio: 'inherit' });
if (lint.status !== 0) console.log('\nlint failed: see the problems above');
// Formatting (Prettier, 140 columns; `.prettierignore` says what is not formatted): `npx prettier --write .` fixes it.
const format = spawnSync('npx', ['prettier', '--check', '.', '--log-level', 'warn'], { stdio: 'inherit' });
if (format.status !== 0) console.log("\nformatting: the files above differ from Prettier's output (npx prettier --write .)");

let passed = 0,
  failed = 0,
  skipped = 0;
const skippedSuites = [];
for (const file of readdirSync(reportDir)) {
  const report = JSON.parse(readFileSync(join(reportDir, file), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    for (const t of suite.assertionResults ?? []) {
      if (t.status === 'skipped' || t.status === 'pending') skippedSuites.push(`${file.replace(/\.json$/, '')}: ${t.fullName}`);
    }
  }
}
rmSync(reportDir, { recursive: true, force: true });
if (skippedSuites.length) {
  console.log(`\nSkipped tests (${skippedSuites.length}):`);
  for (const s of skippedSuites.slice(0, 50)) console.log(`  - ${s}`);
  if (skippedSuites.length > 50) console.log(`  ... and ${skippedSuites.length - 50} more`);
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// A type error or a lint problem fails the run even when every test passed: say so on the last lines.
if (run.status !== 0) console.log('FAILED: an Nx target failed (type check or a test run): see "Failed tasks" above');
if (lint.status !== 0) console.log('FAILED: lint');
if (format.status !== 0) console.log('FAILED: formatting');
process.exit(run.status !== 0 || lint.status !== 0 || format.status !== 0 || failed > 0 ? 1 : 0);
