/**
 * Alerts as @breakwater/events makes them, written out, for the tests that check `toAlert` and
 * the tests that feed alerts to a sink (webhook).
 */
import type { CircuitOpenAlert } from '@breakwater/events';

/** The alert for breaker `name` opening from CLOSED on a 60 % failure rate, at 1_700_000_000_000. */
export function circuitOpenAlert(name: string): CircuitOpenAlert {
  return {
    kind: 'alert',
    type: 'CIRCUIT_OPEN',
    key: name,
    name,
    at: 1_700_000_000_000,
    from: 'CLOSED',
    to: 'OPEN',
    reason: 'FAILURE_RATE',
    failureRate: 60,
    slowCallRate: 0,
    message: `Circuit ${name}: CLOSED -> OPEN (failure rate 60%)`,
  };
}
