import { basename, join } from 'node:path';
import { defineConfig } from 'vitest/config';

const reportDir = process.env.ARGUS_TEST_REPORT_DIR;

/** Shared test settings for every project: node environment, bounded time, a JSON report for the summary. */
export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['**/*.test.ts'],
    pool: 'forks',
    reporters: reportDir
      ? ['default', ['json', { outputFile: join(reportDir, `${basename(process.cwd())}.json`) }]]
      : ['default'],
  },
});
