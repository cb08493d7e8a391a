import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (name: string) => fileURLToPath(new URL(`./services/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the workspaces' sources, so a test run never depends on a stale dist/.
    alias: {
      '@switchyard/core': src('core'),
      '@switchyard/adapters': src('adapters'),
      '@switchyard/providers': src('providers'),
      '@switchyard/relay': src('relay'),
      '@switchyard/control-plane': src('control-plane'),
      '@switchyard/accounting': src('accounting'),
      '@switchyard/mock-upstream': src('mock-upstream'),
      '@switchyard/switchyard': src('switchyard'),
    },
  },
  test: {
    globalSetup: ['scripts/vitest-global-setup.ts'],
    include: ['services/*/src/**/*.test.ts', 'services/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
