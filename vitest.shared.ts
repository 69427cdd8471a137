import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One report per package, named by its path (apps/apdp and libs/apdp are two packages).
const ROOT = dirname(fileURLToPath(import.meta.url));

const reportDir = process.env.ARGUS_TEST_REPORT_DIR;

/** Shared test settings for every project: node environment, bounded time, a JSON report for the summary. */
export default defineConfig({
  test: {
    // Every test process runs with the V8 guard cedar-wasm needs on Node 20 (libs/engine/src/wasm-guard.ts).
    setupFiles: [join(import.meta.dirname, 'libs/engine/src/wasm-guard.ts')],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['**/*.test.ts'],
    pool: 'forks',
    reporters: reportDir
      ? ['default', ['json', { outputFile: join(reportDir, `${relative(ROOT, process.cwd()).replaceAll('/', '-') || 'root'}.json`) }]]
      : ['default'],
  },
});
