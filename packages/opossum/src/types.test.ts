/**
 * The types match @types/opossum's:
 * - a program written against @types/opossum (./types-fixture.test-support.ts) compiles with
 *   `opossum` resolving to @types/opossum, and unchanged with `opossum` resolving to this package;
 *   a mistake it marks (@ts-expect-error) is a mistake against both;
 * - a breaker of ours is assignable where @types/opossum's is expected (a library typed against it,
 *   such as @types/opossum-prometheus), and the option, stats and state types go both ways
 *   (checked by `pnpm typecheck`, which compiles this file).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Opossum from 'opossum';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import CircuitBreaker from './index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, 'types-fixture.test-support.ts');

/**
 * Type-checks the fixture; `opossum` resolves to `opossumAt` when given. Returns the diagnostics and
 * the file `opossum` resolved to.
 */
function compileFixture(opossumAt?: string): { diagnostics: string[]; opossum: string | undefined } {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    customConditions: ['breakwater-source'],
    ...(opossumAt === undefined ? {} : { paths: { opossum: [opossumAt] } }),
  };
  const program = ts.createProgram([FIXTURE], options);
  const resolved = ts.resolveModuleName('opossum', FIXTURE, options, ts.sys);
  return {
    diagnostics: ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`),
    opossum: resolved.resolvedModule?.resolvedFileName,
  };
}

describe('code written against @types/opossum', () => {
  it('compiles against @types/opossum (the premise)', () => {
    const { diagnostics, opossum } = compileFixture();
    expect(opossum).toMatch(/@types\/opossum\/index\.d\.ts$/);
    expect(diagnostics).toEqual([]);
  }, 60_000);

  it('compiles unchanged against @breakwater/opossum', () => {
    const ours = path.join(HERE, 'index.ts');
    const { diagnostics, opossum } = compileFixture(ours);
    expect(opossum).toBe(ours);
    expect(diagnostics).toEqual([]);
  }, 60_000);
});

// ---------------------------------------------------------------------- checked by tsc too

/** A function typed against @types/opossum (a library such as @types/opossum-prometheus takes these). */
function nameOfTheirs(breaker: Opossum): string {
  return breaker.name;
}

describe('assignability between the two', () => {
  it('our breaker is one of theirs; their options, state and status options are ours; our stats are theirs', () => {
    const ours = new CircuitBreaker(async (s: string) => s.length, { name: 'ours' });
    const asTheirs: Opossum<[string], number> = ours;
    const theirOptions: Opossum.Options<[string]> = {
      timeout: 100,
      cacheGetKey: (s) => s,
      status: undefined,
    };
    const options: CircuitBreaker.Options<[string]> = theirOptions;
    const theirState: Opossum.State = ours.toJSON().state;
    const state: CircuitBreaker.State = theirState;
    const theirStatusOptions: Opossum.StatusOptions = { stats: ours.stats, rollingCountBuckets: 2 };
    const statusOptions: CircuitBreaker.StatusOptions = theirStatusOptions;
    const theirStats: Opossum.Stats = ours.stats;
    const theirStatus: Opossum.Status = ours.status;
    const theirJson: ReturnType<Opossum['toJSON']> = ours.toJSON();
    expectTypeOf(ours.fire).parameters.toEqualTypeOf<[string]>();
    expectTypeOf(ours.fire).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(CircuitBreaker.isOurError).toEqualTypeOf<typeof Opossum.isOurError>();
    expect(nameOfTheirs(ours)).toBe('ours');
    expect(asTheirs).toBe(ours);
    expect(options.timeout).toBe(100);
    expect(state.name).toBe('ours');
    expect(statusOptions.rollingCountBuckets).toBe(2);
    expect(theirStats.fires).toBe(0);
    expect(theirStatus.window).toHaveLength(10);
    expect(theirJson.status).toEqual(theirStats);
    ours.shutdown();
  });

  it('the action decides the generics, as with @types/opossum', () => {
    const b = new CircuitBreaker(async (a: string, n: number) => a.length + n);
    expectTypeOf(b).toEqualTypeOf<CircuitBreaker<[a: string, n: number], number>>();
    expectTypeOf(b.fire('x', 1)).toEqualTypeOf<Promise<number>>();
    const sync = new CircuitBreaker((flag: boolean) => (flag ? 'yes' : 'no'));
    expectTypeOf(sync.fire(true)).toEqualTypeOf<Promise<'yes' | 'no'>>();
    const general: CircuitBreaker = b;
    expect(general.name).toBe(b.name);
    b.shutdown();
    sync.shutdown();
  });
});
