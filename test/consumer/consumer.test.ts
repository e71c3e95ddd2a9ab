/**
 * The packages as a user gets them: every package packed (`pnpm pack`, as a release would), the
 * tarballs installed with plain npm into an empty project outside the workspace, next to the
 * current ioredis major, TypeScript and the peers; a strict TypeScript program that uses core, both
 * stores, events, prometheus, the cache and opossum compiled against them and run against a
 * redis-server; and CommonJS files that require() the packages.
 *
 * It needs the packages built (`pnpm build`, which CI runs first) and the npm registry.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RedisServer, startRedis, stopAll } from '../support/redis-harness.js';

const run = promisify(execFile);
const PACKAGES = ['core', 'store-memory', 'store-redis', 'events', 'prometheus', 'cli', 'cache', 'opossum'];
/** The current majors a new user's `npm install` brings. */
const USER_DEPENDENCIES = ['ioredis@^6', 'rxjs@^7', 'prom-client@^15', 'typescript@~5.9', '@types/node@^20'];

let project: string;
let redis: RedisServer;

async function sh(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return run(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
}

beforeAll(async () => {
  for (const name of PACKAGES) {
    if (!existsSync(path.join(REPO_ROOT, 'packages', name, 'dist'))) {
      throw new Error(`packages/${name} is not built: run pnpm build first`);
    }
  }
  project = mkdtempSync(path.join(os.tmpdir(), 'breakwater-consumer-'));
  const tarballs = path.join(project, 'tarballs');
  await sh('pnpm', ['-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs], REPO_ROOT);
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  const packed = readdirSync(tarballs).map((file) => path.join(tarballs, file));
  expect(packed).toHaveLength(PACKAGES.length);
  await sh('npm', ['install', '--no-audit', '--no-fund', ...packed, ...USER_DEPENDENCIES], project);
  cpSync(path.join(REPO_ROOT, 'test/consumer/fixture'), project, { recursive: true });
  redis = await startRedis();
}, 240_000);

afterAll(async () => {
  await stopAll();
  if (project !== undefined) rmSync(project, { recursive: true, force: true });
});

describe('the packed packages in a plain npm project', () => {
  it('every tarball carries its README and the LICENSE, and no test file', async () => {
    for (const name of PACKAGES) {
      const dir = path.join(project, 'node_modules', '@breakwater', name);
      expect(existsSync(path.join(dir, 'README.md')), `${name} README`).toBe(true);
      expect(existsSync(path.join(dir, 'LICENSE')), `${name} LICENSE`).toBe(true);
      const { stdout } = await sh('find', [dir, '-name', '*.test.*'], project);
      expect(stdout.trim(), `${name} test files`).toBe('');
    }
  });

  it('a strict TypeScript program compiles against them with the current ioredis, and runs', async () => {
    await sh('npx', ['tsc', '-p', 'tsconfig.json'], project).catch((error: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${error.stdout ?? String(error)}`);
    });
    const { stdout } = await sh('node', ['dist/consumer.js'], project, { REDIS_URL: redis.url });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null')).toEqual([
      'memory ok',
      'failed',
      'failed',
      'refused',
      'CLOSED->OPEN',
      'OPEN',
      'true',
      'cached ada',
      'cached ada',
      'opossum 42',
    ]);
  }, 120_000);

  it('CommonJS can require() them', async () => {
    const { stdout } = await sh('node', ['require-core.cjs'], project);
    expect(JSON.parse(stdout.trim())).toEqual({ value: 'required', type: 'function' });
  });

  it("CommonJS gets opossum's class itself from require('@breakwater/opossum')", async () => {
    const { stdout } = await sh('node', ['require-opossum.cjs'], project);
    expect(JSON.parse(stdout.trim())).toEqual({ value: 42, name: 'CircuitBreaker', code: 'EOPENBREAKER' });
  });
});
