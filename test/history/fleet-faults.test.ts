/**
 * The fleet history under faults: 4 worker processes drive shared breakers, rate limiters and
 * bulkheads (RedisStore, `onStoreFailure: 'local'`, the default 100 ms command timeout) while
 * Redis is paused (CLIENT PAUSE WRITE and ALL, SIGSTOP), killed with -9 and restarted (AOF with
 * `appendfsync always`: it keeps every acknowledged write), has its script cache flushed, runs out
 * of memory, and workers swap their client for a cold one; then on a 3-master Cluster with cold
 * Cluster clients. The offline checker (`checker.ts`) verifies each invariant on the merged log;
 * each invariant is its own test, so a failure names the one that broke. The seed is in every
 * failure message: `HISTORY_SEED=<seed> npx vitest run test/history/` replays the same plan and
 * fault schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopAll } from '../support/redis-harness.js';
import { INVARIANTS, violationsOf } from './checker.js';
import type { FaultKind } from './fault-injector.js';
import { describeRun, type FleetRun, type FleetRunOptions, runFleet } from './fleet-run.js';
import { historySeed } from './history-seed.js';

const SEED = historySeed();

afterAll(stopAll);

const SCENARIOS: readonly (Omit<FleetRunOptions, 'seed'> & { title: string })[] = [
  {
    title: 'a single Redis paused, killed, flushed and out of memory',
    deployment: 'standalone',
    workers: 4,
    durationMs: 10_000,
    commandTimeout: 100,
    faults: [
      'client-pause-write',
      'client-pause-all',
      'sigstop',
      'kill-restart',
      'script-flush',
      'oom',
      'cold-client',
    ],
  },
  {
    title: 'a Redis Cluster reached through cold Cluster clients',
    deployment: 'cluster',
    workers: 4,
    durationMs: 6_000,
    commandTimeout: 100,
    faults: ['cold-client', 'script-flush', 'client-pause-write', 'sigstop', 'oom'],
  },
];

/** Fewest Redis-granted permits of each kind (all policies of the kind) for a run to have tested anything. */
const ENOUGH = { probes: 4, trips: 1, rateGrants: 10, leases: 10, outcomes: 50 };

describe.each(SCENARIOS)('fleet history: $title', (scenario) => {
  let run: FleetRun | undefined;
  let failure: unknown;

  beforeAll(async () => {
    try {
      run = await runFleet({ ...scenario, seed: SEED });
    } catch (error) {
      failure = new Error(
        `fleet run failed (seed ${SEED}; replay: HISTORY_SEED=${SEED} npx vitest run test/history/)`,
        {
          cause: error,
        },
      );
    }
  }, 120_000);

  const ran = (): FleetRun => {
    if (run === undefined) throw failure;
    return run;
  };

  it('injected every fault, and the run exercised both Redis and the fallback', () => {
    const r = ran();
    const report = describeRun(r);
    expect(new Set(r.faults.map((f) => f.kind)), report).toEqual(new Set<FaultKind>(scenario.faults));
    const redis = (policies: readonly { name: string }[]) =>
      policies.reduce((sum, p) => sum + (r.sources[p.name]?.redis ?? 0), 0);
    const local = Object.values(r.sources).reduce((sum, s) => sum + (s.local ?? 0), 0);
    expect(local, report).toBeGreaterThan(0);
    expect(redis(r.plan.probeBreakers), report).toBeGreaterThanOrEqual(ENOUGH.probes);
    expect(redis(r.plan.rateLimiters), report).toBeGreaterThanOrEqual(ENOUGH.rateGrants);
    expect(redis(r.plan.bulkheads), report).toBeGreaterThanOrEqual(ENOUGH.leases);
    const trips = r.history.transitions.filter(
      (t) => t.to === 'OPEN' && r.plan.tripBreakers.some((b) => b.name === t.name),
    );
    expect(trips.length, report).toBeGreaterThanOrEqual(ENOUGH.trips);
    const observed = r.history.ledger.reduce((sum, c) => sum + c.observed, 0);
    expect(observed, report).toBeGreaterThanOrEqual(ENOUGH.outcomes);
  });

  it.each(INVARIANTS)('%s holds', (invariant) => {
    const r = ran();
    expect(violationsOf(r.violations, invariant), describeRun(r)).toEqual([]);
  });

  it('every bulkhead slot is back in Redis once every store has closed (none left to its lease)', () => {
    const r = ran();
    expect(
      r.heldSlots.filter((h) => h.held > 0),
      describeRun(r),
    ).toEqual([]);
  });

  it("callers only ever saw the policies' own refusals and the downstream's errors", () => {
    const r = ran();
    expect(
      r.workers.flatMap((w) => w.unexpected),
      describeRun(r),
    ).toEqual([]);
  });
});
