import type { CircuitBreakerStateName } from '@breakwater/core';

/** The fields of a STATE_TRANSITION event that the sinks read. */
export interface TransitionFields {
  readonly name: string;
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  readonly reason: string;
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly origin?: string;
}

/** True for a circuit breaker's STATE_TRANSITION event (local or fleet-wide) with its fields. */
export function isTransition(event: {
  readonly kind: string;
  readonly type: string;
}): event is { kind: 'circuitbreaker'; type: 'STATE_TRANSITION'; at: number } & TransitionFields {
  return (
    event.kind === 'circuitbreaker' &&
    event.type === 'STATE_TRANSITION' &&
    typeof (event as { to?: unknown }).to === 'string'
  );
}

/** `60` -> `'60%'`, `33.333` -> `'33.3%'`. */
export function percent(rate: number): string {
  return `${Number(rate.toFixed(1))}%`;
}

/** Why it happened, in words: `'failure rate 60%'`, `'wait elapsed'`, ... */
export function describeReason(t: TransitionFields): string {
  switch (t.reason) {
    case 'FAILURE_RATE':
      return `failure rate ${percent(t.failureRate)}`;
    case 'SLOW_CALL_RATE':
      return `slow call rate ${percent(t.slowCallRate)}`;
    case 'FAILURE_COUNT':
      return 'failure count threshold reached';
    case 'CONSECUTIVE_FAILURES':
      return 'consecutive failures';
    case 'HALF_OPEN_PASSED':
      return t.failureRate >= 0
        ? `probe calls passed, failure rate ${percent(t.failureRate)}`
        : 'probe calls passed';
    case 'HALF_OPEN_FAILURE':
      if (t.failureRate >= 0 && t.slowCallRate >= 0 && t.slowCallRate > t.failureRate)
        return `probe calls failed, slow call rate ${percent(t.slowCallRate)}`;
      return t.failureRate >= 0
        ? `probe calls failed, failure rate ${percent(t.failureRate)}`
        : 'probe calls failed';
    case 'WAIT_ELAPSED':
      return 'open wait elapsed';
    case 'HALF_OPEN_TIMEOUT':
      return 'half-open wait timed out';
    case 'MANUAL':
      return 'manual';
    case 'RESET':
      return 'reset';
    default:
      return t.reason.toLowerCase().replaceAll('_', ' ');
  }
}

/** `Circuit upbit/kr/ticker: CLOSED -> OPEN (failure rate 60%)`. */
export function describeTransition(t: TransitionFields): string {
  return `Circuit ${t.name}: ${t.from} -> ${t.to} (${describeReason(t)})`;
}

/** An error's message, for humans: never throws, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
  } catch {
    return String(error);
  }
}
