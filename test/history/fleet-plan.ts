/**
 * What the fleet runs: its policies (each shaped so that one invariant can be checked exactly) and
 * how hard each worker drives them, all drawn from the run's seed. The orchestrator sends the plan
 * to every worker; the checker reads the policies' limits from it.
 */
import type { BulkheadConfig, CircuitBreakerConfig, RateLimiterConfig } from '@breakwater/core';
import type { HistoryPolicies } from './history.js';
import { SeededRandom } from './seeded-random.js';

/** [min, max] in ms. */
export type Range = readonly [number, number];

export interface BreakerPlan {
  readonly name: string;
  readonly config: CircuitBreakerConfig;
  /** Concurrent callers per worker. */
  readonly lanes: number;
  readonly callMs: Range;
  /** Chance that a call fails, per phase; phases last `phaseMs` each and cycle. */
  readonly failureChances: readonly number[];
  readonly phaseMs: number;
}

export interface RateLimiterPlan {
  readonly name: string;
  readonly config: RateLimiterConfig &
    Required<Pick<RateLimiterConfig, 'limitForPeriod' | 'limitRefreshPeriod'>>;
  readonly lanes: number;
  readonly maxPermits: number;
}

export interface BulkheadPlan {
  readonly name: string;
  readonly config: BulkheadConfig & Required<Pick<BulkheadConfig, 'maxConcurrentCalls'>>;
  readonly lanes: number;
  readonly callMs: Range;
}

export interface FleetPlan {
  readonly seed: number;
  readonly store: { readonly commandTimeout: number; readonly halfOpenLeaseMs: number };
  /** Every call fails: forced OPEN before the run, Redis can only move them between OPEN and HALF_OPEN. */
  readonly probeBreakers: readonly BreakerPlan[];
  readonly tripBreakers: readonly BreakerPlan[];
  /** Never transition: a TIME_BASED window longer than the run, thresholds out of reach. */
  readonly ledgerBreakers: readonly BreakerPlan[];
  readonly rateLimiters: readonly RateLimiterPlan[];
  readonly bulkheads: readonly BulkheadPlan[];
  /** Pause between a lane's calls. */
  readonly pauseMs: Range;
  /** How often each worker reads each breaker's state. */
  readonly stateEveryMs: number;
}

export interface PlanOptions {
  readonly commandTimeout: number;
}

/** Short, so that a lease stranded by a fault comes back within the run (a probe call takes at most 35 ms). */
const HALF_OPEN_LEASE_MS = 1_000;

export function planFleet(seed: number, options: PlanOptions): FleetPlan {
  const random = new SeededRandom(seed).fork(0);
  const probe = (name: string, permitted: number): BreakerPlan => ({
    name,
    config: {
      permittedNumberOfCallsInHalfOpenState: permitted,
      // HALF_OPEN decides only once all `permitted` probes are recorded (its minimum is
      // min(minimumNumberOfCalls, permitted)): probes of one half-open period never outlive it.
      minimumNumberOfCalls: 100,
      slidingWindowSize: 10,
      waitDurationInOpenState: random.int(80, 200),
    },
    lanes: 2,
    callMs: [1, random.int(15, 35)],
    failureChances: [1],
    phaseMs: 1_000,
  });
  return {
    seed,
    store: { commandTimeout: options.commandTimeout, halfOpenLeaseMs: HALF_OPEN_LEASE_MS },
    probeBreakers: [probe('probe-a', 2), probe('probe-b', random.int(1, 3))],
    tripBreakers: [
      {
        name: 'trip-a',
        config: {
          slidingWindowSize: 10,
          minimumNumberOfCalls: 10,
          failureRateThreshold: 50,
          waitDurationInOpenState: random.int(250, 600),
          permittedNumberOfCallsInHalfOpenState: 3,
        },
        lanes: 2,
        callMs: [0, 4],
        failureChances: random.shuffle([0.05, 0.9, 0.3, 1]),
        phaseMs: random.int(500, 1_200),
      },
    ],
    ledgerBreakers: [
      {
        name: 'ledger-a',
        config: {
          slidingWindowType: 'TIME_BASED',
          slidingWindowSize: 300,
          minimumNumberOfCalls: 1_000_000_000,
        },
        lanes: 2,
        callMs: [0, 3],
        failureChances: [0.5],
        phaseMs: 1_000,
      },
    ],
    rateLimiters: [
      {
        name: 'rate-fixed',
        config: {
          algorithm: 'fixed-window',
          limitForPeriod: random.int(5, 10),
          limitRefreshPeriod: random.int(100, 250),
          timeoutDuration: random.pick([0, 150]),
        },
        lanes: 2,
        maxPermits: 2,
      },
      {
        name: 'rate-gcra',
        config: {
          algorithm: 'gcra',
          limitForPeriod: random.int(5, 10),
          limitRefreshPeriod: random.int(100, 250),
          timeoutDuration: random.pick([0, 60]),
        },
        lanes: 2,
        maxPermits: 2,
      },
    ],
    bulkheads: [
      { name: 'bulk-a', config: { maxConcurrentCalls: random.int(2, 4) }, lanes: 3, callMs: [2, 20] },
      {
        name: 'bulk-b',
        config: { maxConcurrentCalls: 2, maxWaitDuration: random.int(20, 60) },
        lanes: 2,
        callMs: [2, 15],
      },
    ],
    pauseMs: [0, 10],
    stateEveryMs: 300,
  };
}

/** What the checker needs to know of the plan's policies. */
export function policiesOf(plan: FleetPlan): HistoryPolicies {
  return {
    probeBreakers: plan.probeBreakers.map((b) => ({
      name: b.name,
      permitted: b.config.permittedNumberOfCallsInHalfOpenState ?? 10,
      leaseMs: plan.store.halfOpenLeaseMs,
    })),
    tripBreakers: plan.tripBreakers.map((b) => ({ name: b.name })),
    ledgerBreakers: plan.ledgerBreakers.map((b) => ({ name: b.name })),
    rateLimiters: plan.rateLimiters.map((r) => ({
      name: r.name,
      algorithm: r.config.algorithm === 'gcra' ? 'gcra' : 'fixed-window',
      limitForPeriod: r.config.limitForPeriod,
      limitRefreshPeriod: r.config.limitRefreshPeriod,
    })),
    bulkheads: plan.bulkheads.map((b) => ({ name: b.name, maxConcurrentCalls: b.config.maxConcurrentCalls })),
  };
}
