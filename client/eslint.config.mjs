// @ts-check
// Flat config for the extension client; run from the repo root: eslint -c client/eslint.config.mjs client/src
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

export default tseslint.config(
    { ignores: ['**/out/**', '**/node_modules/**', 'client/eslint.config.mjs'] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    ...tseslint.configs.stylistic,
    {
        languageOptions: {
            parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: here },
        },
        rules: {
            curly: 'error',
            eqeqeq: 'error',
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
            '@typescript-eslint/naming-convention': ['warn', { selector: 'import', format: ['camelCase', 'PascalCase'] }],
        },
    },
    {
        // node:test's test() returns a promise the runner awaits itself.
        files: ['client/src/test/**/*.ts'],
        rules: { '@typescript-eslint/no-floating-promises': 'off' },
    },
);
