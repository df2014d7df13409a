// ESLint (flat config) for the whole tree; Prettier owns formatting. Both are pure JS, so `npm ci` works
// on every platform without prebuilt binaries.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bench/tmp/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { files: ['src/cli/**', 'sim/main.ts', 'scripts/**', 'test/**'], rules: { 'no-console': 'off' } },
  { files: ['test/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
  // A promise nobody awaits or catches ends the node when it rejects (Node exits on an unhandled rejection),
  // so src/ is linted with types for these two rules, and so is the simulator that left src/ (sim/). Scoped to
  // those: typed linting builds the TypeScript program, which the rest of the tree does not need to pay for.
  {
    files: ['src/**/*.ts', 'sim/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
)
