/**
 * A trip is seen by every process within a bound, and Redis' half-open probes stay in half-open.
 *
 * Trips: once the shared breaker opened at Redis time T (the script's `now`, published on the
 * fleet channel with the end of the open wait U), a call of any process that starts after
 * T + bound and is granted by Redis before U is a violation. Each decision is one atomic script
 * call, and a call's acquire is evaluated in Redis only after the call started (the batcher sends
 * it in the turn it was issued; a reply later than the command timeout is not a Redis grant: the
 * call fell back), so the bound only has to cover the clock error (see `fleet-run.ts`).
 *
 * Probe breakers: every call fails, so once forced open Redis can only take them to HALF_OPEN and
 * back to OPEN. A transition to CLOSED breaks the premise of the half-open check: reported, and
 * the permits granted while CLOSED are left out of the probe count.
 */

import { transitionsOf } from './fleet-transitions.js';
import type { History, Violation } from './history.js';
import { formatAt } from './history-format.js';

const MAX_REPORTED = 10;

export function checkTrips(history: History): Violation[] {
  const violations: Violation[] = [];
  const tol = history.toleranceMs;
  const origin = history.startedAt;
  for (const { name } of history.policies.tripBreakers) {
    const permits = history.permits.filter((p) => p.name === name && p.source === 'redis');
    let reported = 0;
    for (const trip of transitionsOf(history, name)) {
      if (trip.to !== 'OPEN') continue;
      const late = permits.filter(
        (p) => p.calledAt - tol >= trip.at + history.tripBoundMs && p.grantedAt + tol < trip.until,
      );
      for (const p of late) {
        if (reported++ >= MAX_REPORTED) break;
        violations.push({
          invariant: 'trip-seen',
          policy: name,
          at: p.calledAt,
          message:
            `worker ${p.worker}'s call at ${formatAt(p.calledAt, origin)} started ` +
            `${(p.calledAt - trip.at).toFixed(1)} ms after the trip at ${formatAt(trip.at, origin)} ` +
            `(bound ${history.tripBoundMs} ms) and Redis granted it by ${formatAt(p.grantedAt, origin)}, ` +
            `before the open wait ended at ${formatAt(trip.until, origin)}`,
        });
      }
    }
  }
  return violations;
}

export function checkProbeBreakersStayOpen(history: History): Violation[] {
  const violations: Violation[] = [];
  for (const { name } of history.policies.probeBreakers) {
    for (const t of transitionsOf(history, name).filter((x) => x.to === 'CLOSED')) {
      violations.push({
        invariant: 'probe-breaker-closed',
        policy: name,
        at: t.at,
        message: `Redis closed a breaker that only ever records failures (${t.from} -> CLOSED at ${formatAt(t.at, history.startedAt)})`,
      });
    }
  }
  return violations;
}
