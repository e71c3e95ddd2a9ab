import type { TransitionReason } from './circuit-breaker-machine.js';
import type { CircuitBreakerStateName } from './circuit-breaker-state.js';

interface BreakerEventBase {
  readonly kind: 'circuitbreaker';
  /** The breaker's name. */
  readonly name: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface BreakerSuccessEvent extends BreakerEventBase {
  readonly type: 'SUCCESS';
  readonly durationMs: number;
}
export interface BreakerErrorEvent extends BreakerEventBase {
  readonly type: 'ERROR';
  readonly durationMs: number;
  readonly error: unknown;
}
export interface BreakerIgnoredErrorEvent extends BreakerEventBase {
  readonly type: 'IGNORED_ERROR';
  readonly durationMs: number;
  readonly error: unknown;
}
export interface BreakerNotPermittedEvent extends BreakerEventBase {
  readonly type: 'NOT_PERMITTED';
  readonly state: CircuitBreakerStateName;
}
export interface BreakerStateTransitionEvent extends BreakerEventBase {
  readonly type: 'STATE_TRANSITION';
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  readonly reason: TransitionReason;
  /** Rates of the window that decided the transition (-1 below the minimum). */
  readonly failureRate: number;
  readonly slowCallRate: number;
}
export interface BreakerResetEvent extends BreakerEventBase {
  readonly type: 'RESET';
}
export interface BreakerFailureRateExceededEvent extends BreakerEventBase {
  readonly type: 'FAILURE_RATE_EXCEEDED';
  readonly failureRate: number;
}
export interface BreakerSlowCallRateExceededEvent extends BreakerEventBase {
  readonly type: 'SLOW_CALL_RATE_EXCEEDED';
  readonly slowCallRate: number;
}
/** Published with the STATE_TRANSITION into FORCED_OPEN. */
export interface BreakerForcedOpenEvent extends BreakerEventBase {
  readonly type: 'FORCED_OPEN';
}
/** Published with the STATE_TRANSITION into DISABLED. */
export interface BreakerDisabledEvent extends BreakerEventBase {
  readonly type: 'DISABLED';
}

export type CircuitBreakerEvent =
  | BreakerSuccessEvent
  | BreakerErrorEvent
  | BreakerIgnoredErrorEvent
  | BreakerNotPermittedEvent
  | BreakerStateTransitionEvent
  | BreakerResetEvent
  | BreakerFailureRateExceededEvent
  | BreakerSlowCallRateExceededEvent
  | BreakerForcedOpenEvent
  | BreakerDisabledEvent;

export type CircuitBreakerEventType = CircuitBreakerEvent['type'];
