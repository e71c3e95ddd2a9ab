/**
 * The offline checker of a fleet history: a pure function of the history (`history.ts`), no I/O,
 * no clock. Each invariant has its own module and its own unit tests on hand-made histories.
 */
import { checkBulkheads, checkHalfOpenProbes } from './check-concurrency.js';
import { checkOutcomes } from './check-outcomes.js';
import { checkRateLimits } from './check-rate-limits.js';
import { checkProbeBreakersStayOpen, checkTrips } from './check-trips.js';
import type { History, InvariantName, Violation } from './history.js';

export const INVARIANTS: readonly InvariantName[] = [
  'half-open-probes',
  'probe-breaker-closed',
  'rate-limit',
  'bulkhead-concurrency',
  'outcomes-accounted',
  'trip-seen',
];

/** Every violation of every invariant, in the order of `INVARIANTS`. */
export function checkHistory(history: History): Violation[] {
  return [
    ...checkHalfOpenProbes(history),
    ...checkProbeBreakersStayOpen(history),
    ...checkRateLimits(history),
    ...checkBulkheads(history),
    ...checkOutcomes(history),
    ...checkTrips(history),
  ];
}

/** The violations of one invariant, as lines for an assertion message. */
export function violationsOf(violations: readonly Violation[], invariant: InvariantName): string[] {
  return violations.filter((v) => v.invariant === invariant).map((v) => `${v.policy}: ${v.message}`);
}
