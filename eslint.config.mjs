// Lint rules for the whole workspace. The module-boundary rule keeps the pure core (libs/engine,
// libs/governance: tag type:core) free of adapters and apps, and apps from importing each other's
// internals: a violation fails `npm run lint` and CI.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', 'test-artifacts/**', '**/console/public/**', 'coverage/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parser: tseslint.parser },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          // The CLI imports workspace libraries lazily (so `argus --help` loads none of them) while
          // their tests and the lazily loaded command implementations import them statically: that
          // is the intended split (scripts/build.mjs code-splits the CLI), not a defeated lazy load.
          checkDynamicDependenciesExceptions: ['@argus/*'],
          depConstraints: [
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core', 'type:shared'] },
            { sourceTag: 'type:shared', onlyDependOnLibsWithTags: ['type:shared'] },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:core', 'type:shared', 'type:infra'] },
            // A service library (libs/apdp, libs/proxy, libs/registry, libs/discover) is what a process
            // runs; apps are the processes and the CLI, and depend on libraries only: no app imports
            // another app.
            { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:core', 'type:shared', 'type:infra', 'type:feature'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:shared', 'type:infra', 'type:feature'] },
            { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:core', 'type:shared', 'type:infra', 'type:feature'] },
          ],
        },
      ],
      // Pure core: no I/O modules, no environment.
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Prettier formats at 140 columns (npm test checks it); what it cannot wrap (long strings,
    // template literals, regular expressions, URLs) is left to the author, anything else is an error.
    files: ['**/*.ts', '**/*.mts', '**/*.mjs', '**/*.js'],
    rules: {
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  {
    // No app imports another app: a process entry (apps/apdp, apps/proxy, apps/registry,
    // apps/discover: packages @argus/*-service) or the CLI is never a dependency; what they run
    // is a library (@argus/apdp, @argus/proxy, ...). Relative imports across projects are refused by
    // @nx/enforce-module-boundaries above. Benchmarks may drive the CLI as a user does.
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'tests/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@argus/*-service', '@argus/*-service/**', '@argus/cli', '@argus/cli/**'],
              message: 'apps are not dependencies: import the library',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/engine/src/**/*.ts', 'libs/governance/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**', '**/testdata/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'fs',
            'node:fs',
            'fs/promises',
            'node:fs/promises',
            'net',
            'node:net',
            'http',
            'node:http',
            'https',
            'node:https',
            'child_process',
            'node:child_process',
            'pino',
            'ioredis',
            'mongodb',
            'better-sqlite3',
            'express',
          ].map((name) => ({ name, message: 'libs/engine and libs/governance are pure: no I/O, no logger' })),
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'pure core: pass configuration in, never read process' }],
    },
  },
];
