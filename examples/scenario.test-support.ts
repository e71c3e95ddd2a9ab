/**
 * What the examples' tests share: running a scenario with its story lines captured, and the test
 * every scenario on a simulated clock has (it must not claim to have waited the time it skips).
 */
import { expect, it } from 'vitest';
import type { ScenarioOptions } from './scenario-options.js';

type Log = (line: string) => void;

export interface Logged<R> {
  /** What the scenario returned. */
  readonly result: R;
  /** The lines it logged, in order. */
  readonly lines: string[];
  /** Wall time it took, ms. */
  readonly ms: number;
}

/** Runs a scenario, handing it a `log` that collects its lines: `logged((log) => run({ log }))`. */
export async function logged<R>(run: (log: Log) => Promise<R>): Promise<Logged<R>> {
  const lines: string[] = [];
  const started = Date.now();
  const result = await run((line) => lines.push(line));
  return { result, lines, ms: Date.now() - started };
}

/**
 * The test of a scenario whose breakers run on a ManualClock: the one line that mentions seconds
 * (`\d+ s`) is the skip of the clock, and it says the time is simulated (`skip`, e.g.
 * '30 s later on the simulated clock'), so that a reader does not think the run waited.
 */
export function itSaysSkippedTimeIsSimulated(
  run: (options: ScenarioOptions) => Promise<unknown>,
  skip: string,
): void {
  it('says that the time it skips is simulated: it claims no wall time', async () => {
    const { lines } = await logged((log) => run({ log }));
    const skips = lines.filter((l) => /\b\d+ s\b/.test(l));
    expect(skips).toEqual([expect.stringContaining(skip)]);
  });
}
