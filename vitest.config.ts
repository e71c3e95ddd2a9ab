import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name; the 'breakwater-source' export condition
// resolves them to their TypeScript sources, so the suite needs no build step.
const conditions = ['breakwater-source', 'import', 'module', 'node', 'default'];

/**
 * store-redis takes the user's ioredis (a peer dependency, ^5 || ^6). The whole suite runs on the
 * workspace's ioredis 5; these suites run again on ioredis 6 (the package `ioredis-6`, an alias of
 * ioredis@6), in this process: suites that start worker processes are not in it, as a worker
 * resolves ioredis by itself.
 */
const IOREDIS_6_SUITES = [
  'packages/store-redis/src/**/*.test.ts',
  'test/redis/redis-store.test.ts',
  'test/redis/chaos.test.ts',
  'test/redis/cold-and-blips.test.ts',
  'test/redis/cluster.test.ts',
  'test/redis/limits.test.ts',
  'test/conformance/redis-*.test.ts',
  'test/support/ioredis-version.test.ts',
  'packages/cache/src/cache.redis.test.ts',
];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['breakwater-source'] } },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'ioredis-5',
          include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
        },
      },
      {
        extends: true,
        resolve: { alias: { ioredis: 'ioredis-6' } },
        test: { name: 'ioredis-6', include: IOREDIS_6_SUITES },
      },
    ],
  },
});
