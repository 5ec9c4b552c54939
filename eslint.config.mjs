// Flat ESLint config for the whole workspace; `pnpm -r lint` runs it per package.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { import: importPlugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import/no-relative-packages': 'error',
      'import/no-cycle': 'error',
    },
    settings: {
      'import/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import/resolver': { node: { extensions: ['.ts', '.js'] } },
    },
  },
  {
    // Each app reads its environment once, in its config.ts (STYLE "Written once"); tests and test support may set up their own.
    files: ['**/*.ts'],
    ignores: ['**/config.ts', '**/*.test.ts', '**/testing/**', 'tests/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: "Read the environment in the app's config.ts (with @lockkeys/config) and pass the values on.",
        },
      ],
    },
  },
  {
    // Workflow code is replayed: it must stay deterministic (no Node builtins, no own clock or randomness).
    files: ['packages/workflows/src/**/*.ts'],
    ignores: [
      'packages/workflows/src/**/*.test.ts',
      'packages/workflows/src/testing/**',
      'packages/workflows/src/worker/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // Every builtin, as Node itself lists them (samples-typescript's shared ESLint config does the same).
              group: ['node:*', ...builtinModules, ...builtinModules.map((name) => `${name}/*`)],
              message: 'Workflow code may not use Node builtins.',
            },
          ],
          paths: [
            {
              name: '@lockkeys/contracts',
              message: "Import '@lockkeys/contracts/workflow' (zod-free) in workflow code.",
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() from @temporalio/workflow.' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'process'],
    },
  },
);
