/**
 * What the suites that run the Lua engines against the in-process reference share: one generated
 * sequence of operations run in lockstep through both, logged so that an answer that differs fails
 * with the operations that led to it, and a test that runs many such sequences.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';

/** One run's log, and its check. */
export interface Lockstep {
  /** Notes an operation done: the log a failed check prints. */
  log(line: string): void;
  /** Fails, with the log so far, unless `actual` is `expected`. */
  check(actual: unknown, expected: unknown, what: string): void;
}

/** Runs `step` on each of `ops` in order, then closes `engines`, however the run ended. */
export async function lockstep<Op>(
  engines: readonly { close(): void }[],
  ops: readonly Op[],
  step: (op: Op, run: Lockstep) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const run: Lockstep = {
    log: (line) => {
      lines.push(line);
    },
    check: (actual, expected, what) => {
      if (actual !== expected) expect(actual, `${what}\n${lines.join('\n')}`).toBe(expected);
    },
  };
  try {
    for (const op of ops) await step(op, run);
  } finally {
    for (const e of engines) e.close();
  }
}

/** A run's start on the test's clock: a fixed epoch, and up to 10 s more. */
export const startArb = fc.integer({ min: 0, max: 10_000 }).map((ms) => 1_700_000_000_000 + ms);

/** A test that `property` holds for `numRuns` generated runs (fast-check prints the seed of a failure). */
export function itHolds<Ts extends [unknown, ...unknown[]]>(
  title: string,
  numRuns: number,
  property: fc.IAsyncProperty<Ts>,
): void {
  it(title, async () => {
    await fc.assert(property, { numRuns });
  }, 120_000);
}
