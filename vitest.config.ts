import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; the 'breakwater-source' export condition
// resolves them to their TypeScript sources, so the suite needs no build step.
const conditions = ['breakwater-source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['breakwater-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
