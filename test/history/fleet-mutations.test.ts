/**
 * The checker catches a broken invariant. Each mutation is applied to the store's code as the
 * workers load it (a Node loader hook, `mutation-hooks.mjs`; no hook in the production code): one
 * in the breaker's Lua (a half-open probe granted when none is left), one in the TypeScript engine
 * of the Redis bulkhead (Redis's "full" answer taken for a slot). The same fleet, without faults
 * and with a generous command timeout, keeps every invariant unmutated, and breaks exactly the
 * mutated one with each mutation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stopAll } from '../support/redis-harness.js';
import { describeRun, type MutationName, runFleet } from './fleet-run.js';
import type { InvariantName } from './history.js';
import { historySeed } from './history-seed.js';

const SEED = historySeed();
const FLEET = {
  seed: SEED,
  deployment: 'standalone',
  workers: 4,
  durationMs: 2_500,
  faults: [],
  commandTimeout: 2_000,
} as const;

afterAll(stopAll);

describe('fleet history: mutations', () => {
  it('an unmutated fleet keeps every invariant', async () => {
    const run = await runFleet(FLEET);
    expect(run.violations, describeRun(run)).toEqual([]);
  }, 60_000);

  const MUTATIONS: readonly { mutation: MutationName; breaks: InvariantName }[] = [
    { mutation: 'lua-extra-half-open-probe', breaks: 'half-open-probes' },
    { mutation: 'ts-bulkhead-full-admits', breaks: 'bulkhead-concurrency' },
  ];

  it.each(MUTATIONS)(
    '$mutation: the checker reports $breaks, and nothing else',
    async ({ mutation, breaks }) => {
      const run = await runFleet({ ...FLEET, mutation });
      const report = describeRun(run);
      expect(
        run.mutations.every((m) => (m as { breaks?: string }).breaks === breaks),
        report,
      ).toBe(true);
      expect(run.violations.length, report).toBeGreaterThan(0);
      expect(new Set(run.violations.map((v) => v.invariant)), report).toEqual(new Set([breaks]));
    },
    60_000,
  );
});
