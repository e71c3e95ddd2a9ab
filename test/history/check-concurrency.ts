/**
 * Fleet-wide concurrency: half-open probes of a breaker and slots of a bulkhead. Redis holds a
 * lease for each permit it grants, from before the grant reaches the caller until after the call
 * is over (the record or release travels after the call ends), so the caller's span of a Redis
 * permit lies inside the lease's. At most `capacity` leases are live at once, so at most
 * `capacity` caller spans may overlap at any instant. Each span is shrunk by the clock tolerance
 * at both ends: an overlap that remains is certain, whatever the calibration error.
 */
import { closedStretches } from './fleet-transitions.js';
import type { BreakerPermit, History, SlotLease, Violation } from './history.js';
import { formatAt } from './history-format.js';

export interface Span {
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

export interface Excursion {
  /** When the count first went over capacity. */
  readonly at: number;
  /** The most spans running at once during the excursion. */
  readonly peak: number;
  /** The spans running at the peak. */
  readonly running: readonly Span[];
}

/** Every stretch of time during which more than `capacity` spans overlap (a span is open at both ends). */
export function overCapacity(spans: readonly Span[], capacity: number): Excursion[] {
  const events: { t: number; delta: 1 | -1; span: number }[] = [];
  spans.forEach((s, i) => {
    if (!(s.end > s.start)) return;
    events.push({ t: s.start, delta: 1, span: i }, { t: s.end, delta: -1, span: i });
  });
  // Ends before starts at the same instant: spans that only touch never ran together.
  events.sort((a, b) => a.t - b.t || a.delta - b.delta);
  const running = new Set<number>();
  const found: Excursion[] = [];
  let current: { at: number; peak: number; running: Span[] } | undefined;
  for (const e of events) {
    if (e.delta === 1) running.add(e.span);
    else running.delete(e.span);
    if (running.size > capacity) {
      if (current === undefined) {
        current = { at: e.t, peak: 0, running: [] };
        found.push(current);
      }
      if (running.size > current.peak) {
        current.peak = running.size;
        current.running = [...running].map((i) => spans[i]);
      }
    } else {
      current = undefined;
    }
  }
  return found;
}

const MAX_REPORTED = 10;

function excursionViolations(
  excursions: readonly Excursion[],
  invariant: 'half-open-probes' | 'bulkhead-concurrency',
  policy: string,
  what: string,
  origin: number,
): Violation[] {
  return excursions.slice(0, MAX_REPORTED).map((x) => ({
    invariant,
    policy,
    at: x.at,
    message: `${x.peak} ${what} at once at ${formatAt(x.at, origin)}: ${x.running.map((s) => s.label).join(', ')}`,
  }));
}

function spanLabel(
  p: { worker: number; grantedAt: number },
  end: number | undefined,
  origin: number,
): string {
  const until = end === undefined ? 'never ended' : formatAt(end, origin);
  return `worker ${p.worker} [${formatAt(p.grantedAt, origin)} .. ${until}]`;
}

/** Permits of the breaker, granted by Redis, as spans shrunk by the tolerance and cut at their lease's expiry. */
export function probeSpans(
  permits: readonly BreakerPermit[],
  leaseMs: number,
  tolerance: number,
  origin: number,
): Span[] {
  return permits
    .filter((p) => p.source === 'redis')
    .map((p) => ({
      start: p.grantedAt + tolerance,
      // Redis reclaims a lease leaseMs after the grant, which came after calledAt (give or take the tolerance).
      end: Math.min(p.endedAt ?? Number.POSITIVE_INFINITY, p.calledAt + leaseMs) - tolerance,
      label: spanLabel(p, p.endedAt, origin),
    }));
}

export function leaseSpans(leases: readonly SlotLease[], tolerance: number, origin: number): Span[] {
  return leases
    .filter((l) => l.source === 'redis')
    .map((l) => ({
      start: l.grantedAt + tolerance,
      end: (l.releasedAt ?? Number.POSITIVE_INFINITY) - tolerance,
      label: spanLabel(l, l.releasedAt, origin),
    }));
}

/**
 * At most `permittedNumberOfCallsInHalfOpenState` Redis-granted probes of one breaker run at once.
 * Permits Redis may have granted while it had the breaker CLOSED (which `checkProbeBreakersStayOpen`
 * reports) are no probes and are left out.
 */
export function checkHalfOpenProbes(history: History): Violation[] {
  const violations: Violation[] = [];
  const tol = history.toleranceMs;
  for (const breaker of history.policies.probeBreakers) {
    const closed = closedStretches(history, breaker.name);
    const permits = history.permits.filter(
      (p) =>
        p.name === breaker.name &&
        !closed.some((s) => p.grantedAt + tol >= s.from && p.calledAt - tol < s.to),
    );
    const spans = probeSpans(permits, breaker.leaseMs, tol, history.startedAt);
    violations.push(
      ...excursionViolations(
        overCapacity(spans, breaker.permitted),
        'half-open-probes',
        breaker.name,
        `Redis-granted probes (permitted ${breaker.permitted})`,
        history.startedAt,
      ),
    );
  }
  return violations;
}

/** At most `maxConcurrentCalls` Redis-granted slots of one bulkhead are held at once. */
export function checkBulkheads(history: History): Violation[] {
  const violations: Violation[] = [];
  for (const bulkhead of history.policies.bulkheads) {
    const leases = history.leases.filter((l) => l.name === bulkhead.name);
    violations.push(
      ...excursionViolations(
        overCapacity(leaseSpans(leases, history.toleranceMs, history.startedAt), bulkhead.maxConcurrentCalls),
        'bulkhead-concurrency',
        bulkhead.name,
        `Redis-granted slots (maxConcurrentCalls ${bulkhead.maxConcurrentCalls})`,
        history.startedAt,
      ),
    );
  }
  return violations;
}
