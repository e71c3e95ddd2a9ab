/**
 * The store contract: where a policy's state lives. A store hands out one engine per policy
 * instance; engines of the same name on the same store share one state (that is the point of
 * a shared store). Engines answer synchronously when they can (in-process) and with a promise
 * when the truth is remote (Redis); callers keep the synchronous path free of awaits.
 */

import type { MaybePromise } from '../common/types.js';
import type { CircuitBreakerSettings } from './circuit-breaker-config.js';
import type { CircuitBreakerMetrics, ManualTarget, StepEffects } from './circuit-breaker-machine.js';
import type { CircuitBreakerStateName } from './circuit-breaker-state.js';
import type { Outcome } from './sliding-window.js';

export interface BreakerView {
  readonly state: CircuitBreakerStateName;
  readonly metrics: CircuitBreakerMetrics;
  /** When the next time-driven transition falls due (epoch ms, the store's clock), or 0 when none is pending. */
  readonly nextTransitionAt: number;
}

/** Told about every transition, exceeded threshold and reset of the state an engine works on. */
export type BreakerEffectsListener = (effects: Readonly<StepEffects>) => void;

/** One breaker's view of its state; every method takes the caller's clock reading (stores with their own clock may ignore it). */
export interface BreakerEngine {
  /** A permit (>= 0) or a `DENIED_*` code. */
  acquire(now: number): MaybePromise<number>;
  /** Records the outcome of a permitted call. */
  record(permit: number, outcome: Outcome, now: number): MaybePromise<void>;
  /** Returns a permit unused (ignored error, abort). */
  release(permit: number, now: number): MaybePromise<void>;
  /** A manual transition; false when it is illegal (nothing changed). */
  transition(target: ManualTarget, now: number): MaybePromise<boolean>;
  /** The current state and metrics, after applying what fell due by `now`. */
  read(now: number): MaybePromise<BreakerView>;
  /** Stops delivering effects to this engine's listener. */
  close(): void;
}

export interface Store {
  /** e.g. `'memory'`, `'redis'`. */
  readonly kind: string;
  circuitBreaker(
    name: string,
    settings: CircuitBreakerSettings,
    listener: BreakerEffectsListener,
  ): BreakerEngine;
}
