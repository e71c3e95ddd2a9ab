/**
 * The package as Node loads it (its built `dist`, through its `exports`), in child processes:
 * - CommonJS: `require('@breakwater/opossum')` returns the class itself, as `require('opossum')`
 *   does (the `'module.exports'` export, honoured by require() of ES modules from Node 20.19);
 * - ES modules: the default import is the class, and so is the named `CircuitBreaker`.
 * Neither prints a warning. It needs the packages built (`pnpm build`, which CI runs first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What each program prints: what it loaded, and a call through it. */
const PROBE = `
  const breaker = new CircuitBreaker(async (x) => x * 2, { name: 'probe' });
  breaker.open();
  const refused = await breaker.fire(1).catch((e) => e);
  breaker.close();
  const result = await breaker.fire(21);
  breaker.shutdown();
  console.log(JSON.stringify({
    type: typeof CircuitBreaker,
    name: CircuitBreaker.name,
    statics: [typeof CircuitBreaker.isOurError, typeof CircuitBreaker.newStatus],
    result,
    refused: [refused.code, CircuitBreaker.isOurError(refused)],
  }));
`;

const EXPECTED = {
  type: 'function',
  name: 'CircuitBreaker',
  statics: ['function', 'function'],
  result: 42,
  refused: ['EOPENBREAKER', true],
};

async function node(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
}

beforeAll(() => {
  for (const pkg of ['core', 'opossum']) {
    if (!existsSync(path.join(ROOT, 'packages', pkg, 'dist', 'index.js'))) {
      throw new Error(`packages/${pkg} is not built: run pnpm build first`);
    }
  }
});

describe('loading the package', () => {
  it('require() returns the class itself, as require("opossum") does', async () => {
    const source = `
      const CircuitBreaker = require('@breakwater/opossum');
      (async () => { ${PROBE} })();
    `;
    const { stdout, stderr } = await node(['--input-type=commonjs', '--eval', source]);
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
    expect(stderr).toBe('');
  });

  it('import: the default export is the class, and so is the named CircuitBreaker', async () => {
    const source = `
      import CircuitBreaker, { CircuitBreaker as Named, Status, OpossumError } from '@breakwater/opossum';
      if (Named !== CircuitBreaker) throw new Error('the named export is another class');
      if (typeof Status !== 'function' || typeof OpossumError !== 'function') throw new Error('missing exports');
      ${PROBE}
    `;
    const { stdout, stderr } = await node(['--input-type=module', '--eval', source]);
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
    expect(stderr).toBe('');
  });
});
