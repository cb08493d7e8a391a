import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Workspaces a given workspace may import; roles never import each other, libraries never import roles. */
const allowed = {
  core: [],
  adapters: ['core'],
  providers: ['core'],
  relay: ['core', 'providers'],
  // The control plane tests channels and accounts itself (channel-tester.ts) through the providers library.
  'control-plane': ['core', 'providers'],
  accounting: ['core'],
  'mock-upstream': [],
  switchyard: ['core', 'adapters', 'providers', 'relay', 'control-plane', 'accounting', 'mock-upstream'],
};
const all = Object.keys(allowed);
/** I/O client libraries that only adapters (and composition roots) may touch. */
const ioClients = ['ioredis', 'nats', 'mysql2', '@grpc/grpc-js'];

const boundaries = Object.entries(allowed).map(([ws, ok]) => ({
  files: [`services/${ws}/**/*.ts`],
  ignores: [`services/${ws}/**/*.test.ts`, `services/${ws}/test/**`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...all
            .filter((other) => other !== ws && !ok.includes(other))
            .map((other) => ({
              group: [`@switchyard/${other}`, `@switchyard/${other}/*`],
              message: `services/${ws} may not import services/${other} (see ARCHITECTURE.md: roles never import each other)`,
            })),
          {
            group: ['../../*/src/*', '../../../*/src/*'],
            message: 'import sibling workspaces by package name',
          },
          ...(ws === 'adapters' || ws === 'switchyard'
            ? []
            : [{ group: ioClients, message: 'I/O clients live in services/adapters behind a port' }]),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tools/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  {
    // Migrations are frozen against the schema of their day, not the app's current types (kysely's advice).
    files: ['services/core/src/migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...boundaries,
);
