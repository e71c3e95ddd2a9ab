/**
 * What a shared store tells every process about a breaker (and about its own outages): the one
 * definition that the store publishing it (`@breakwater/store-redis`) and the streams reading it
 * (`@breakwater/events`) both use, with the one way to turn a window's counts into rates.
 */
import type { BreakerTransition } from './circuit-breaker-machine.js';
import { rateOfCalls } from './sliding-window.js';

/**
 * A window's counts as a shared store keeps and publishes them:
 * `[calls, failures, slow calls, slow failures, minimum number of calls]`.
 */
export type WindowCounts = readonly [
  calls: number,
  failures: number,
  slow: number,
  slowFailures: number,
  minimumCalls: number,
];

/** A rate (percent) of `part` among the window's calls, or -1 below its minimum: as every engine computes it. */
export function rateOfCounts(part: number, counts: WindowCounts): number {
  return rateOfCalls(part, counts[0], counts[4]);
}

/** A breaker's transitions as some process of the fleet made them. */
export interface FleetTransitionMessage {
  readonly kind: 'circuitbreaker';
  readonly name: string;
  /** The process that made the transitions (its store's `processId`). */
  readonly origin: string;
  readonly transitions: readonly BreakerTransition[];
}

/** A process's outage of its shared store, told to the fleet once the store answered it again. */
export interface FleetStoreFailureMessage {
  readonly kind: 'store';
  readonly type: 'STORE_FAILURE';
  /** The store's name (RedisStore: its key prefix). */
  readonly name: string;
  /** The process that lost its store (its `processId`). */
  readonly origin: string;
  /** When the outage began, and when it ended (epoch ms). */
  readonly at: number;
  readonly recoveredAt: number;
  /** The first error's message. */
  readonly error: string;
  /** What the store's failure policy was. */
  readonly policy: 'local' | 'allow' | 'deny';
}
