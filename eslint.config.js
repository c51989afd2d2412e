// The house rules that a type checker can see (STYLE.md): typescript-eslint's strict and stylistic
// sets, with type information, over every TypeScript file tsconfig.json checks.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Built output, generated reports, the browser dashboard (plain JS served as is), the Python client.
    ignores: ['dist/**', 'coverage/**', 'bench/results/**', 'dashboard/**', 'clients/**', 'examples/**', 'node_modules/**'],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'vitest.config.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers read plainly in log lines and error messages (`offset ${offset}`); other types still
      // need an explicit String() so that no `[object Object]` or `undefined` reaches a message.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => socket.close()` as a callback is the common shorthand and returns nothing anyone reads;
      // a void expression elsewhere (a return, a condition) is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // The stylistic set asks for `value!` where the strict set forbids `!`; the two cannot both hold.
      // The code narrows with `as T` or, better, a check: keep the strict rule, drop the stylistic one.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // `const { time: _t, ...rest } = tick` is how a key is left out of a copy; the left-out name is unused by design.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // In tests and benchmarks `rows[0]!` indexes what the test itself just built (noUncheckedIndexedAccess);
    // were it missing, the test fails there with a TypeError, which is the assertion we want.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.stringMatching, expect.objectContaining) are typed
    // `any`; in a test they only ever reach an assertion, which checks them at run time.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // This file and other plain JS configs are not in tsconfig.json: lint them without types.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // .dependency-cruiser.cjs is CommonJS, as dependency-cruiser loads it.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
