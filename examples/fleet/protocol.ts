/** Messages between the demo's main process and its workers (over the IPC channel of `fork`). */
import type { CircuitBreakerConfig, CircuitBreakerStateName } from '@breakwater/core';

/** The breaker every worker shares: the fleet's view of the inventory API. */
export const BREAKER_NAME = 'inventory-api';
export const BREAKER_CONFIG: CircuitBreakerConfig = {
  slidingWindowSize: 6,
  minimumNumberOfCalls: 4,
  failureRateThreshold: 50,
  waitDurationInOpenState: 1_500,
  permittedNumberOfCallsInHalfOpenState: 1,
};

export type ToWorker =
  /** Make one call through the shared breaker; `broken`: this worker's downstream fails. */
  { readonly type: 'call'; readonly broken: boolean } | { readonly type: 'exit' };

export type CallOutcome = 'ok' | 'failed' | 'refused';

export type FromWorker =
  | { readonly type: 'ready'; readonly worker: string }
  | {
      readonly type: 'result';
      readonly worker: string;
      readonly outcome: CallOutcome;
      /** Whether the downstream was actually called. */
      readonly reachedDownstream: boolean;
      /** The shared state after the call. */
      readonly state: CircuitBreakerStateName;
      /** Transitions this worker made during the call, as `FROM -> TO`, in order. */
      readonly transitions: readonly string[];
    }
  | {
      /** A transition made by some worker of the fleet, heard over Redis pub/sub. */
      readonly type: 'heard';
      readonly worker: string;
      readonly origin: string;
      readonly from: CircuitBreakerStateName;
      readonly to: CircuitBreakerStateName;
    };
