import type {
  BreakerStateTransitionEvent,
  BulkheadEvent,
  CircuitBreakerEvent,
  CircuitBreakerStateName,
  RateLimiterEvent,
  RetryEvent,
  TimeLimiterEvent,
  TransitionReason,
  Unsubscribe,
} from '@breakwater/core';
import type { FleetStoreFailureMessage } from '@breakwater/core/engine';

/** What every Breakwater event has: a discriminant pair (`kind`, `type`), the emitter's `name`, and `at` (epoch ms). */
export interface EventShape {
  readonly kind: string;
  readonly type: string;
  readonly name: string;
  readonly at: number;
}

/** The events of the policies in @breakwater/core. */
export type PolicyEvent =
  | CircuitBreakerEvent
  | RetryEvent
  | RateLimiterEvent
  | TimeLimiterEvent
  | BulkheadEvent;

/**
 * A breaker's state transition as published on Redis by some process of the fleet (possibly this
 * one): the local STATE_TRANSITION event plus the process it came from.
 */
export interface FleetStateTransitionEvent extends BreakerStateTransitionEvent {
  /** The `processId` of the RedisStore that made the transition (default `<hostname>:<pid>`). */
  readonly origin: string;
  /** When the new state's own timeout falls due (the end of an OPEN wait), or 0. */
  readonly until: number;
}

/** A store's own event, stamped with the process it happened in. */
export type OriginStamped<E> = E & { readonly origin: string };

/** What `eventsOf(store)` emits: fleet-wide transitions plus the store's own (local) events. */
export type FleetEvent<SE extends EventShape = EventShape> = FleetStateTransitionEvent | OriginStamped<SE>;

/** Anything with `onEvent`: a policy (CircuitBreaker, Retry, ...) or a registry (policies created later included). */
export interface EventSource<E extends EventShape> {
  onEvent(listener: (event: E) => void): Unsubscribe;
}

/**
 * One transition inside a fleet message (the fields `eventsOf` reads). The rates are given either
 * as `failureRate`/`slowCallRate`, or as the window's `counts` (`[calls, failures, slow,
 * slowFailures, minimumCalls]`, what the Lua script publishes), from which they are computed.
 */
export interface FleetTransition {
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  readonly at: number;
  readonly reason: TransitionReason;
  readonly failureRate?: number;
  readonly slowCallRate?: number;
  readonly counts?: readonly number[];
  readonly until?: number;
}

/**
 * A fleet message as a source delivers it: core's `FleetTransitionMessage` (what RedisStore's
 * `onFleetTransition` delivers), read tolerantly (anyone can publish on a channel: rates may be
 * missing, or given as the window's `counts`).
 */
export interface FleetTransitionMessageLike {
  readonly kind: 'circuitbreaker';
  readonly name: string;
  readonly origin: string;
  readonly transitions: readonly FleetTransition[];
}

/**
 * A STORE_FAILURE another process published after its outage; a fleet source that has
 * `onFleetStoreFailure(listener)` delivers them (RedisStore does). The message is defined once, in
 * `@breakwater/core/engine`.
 */
export type FleetStoreFailureMessageLike = FleetStoreFailureMessage;

/**
 * A store that shares state across processes and tells about it: `RedisStore` from
 * @breakwater/store-redis (matched by shape, so this package does not depend on it).
 */
export interface FleetSource<SE extends EventShape = EventShape> extends EventSource<SE> {
  onFleetTransition(listener: (message: FleetTransitionMessageLike) => void): Unsubscribe;
  /** `options.processId` names this process in the events of the store itself. */
  readonly options?: { readonly processId?: string };
}

/**
 * `E` narrowed to the members whose field `F` may be `V`. A member with a wide field (e.g.
 * `type: string`) is kept, with the field narrowed.
 */
export type Narrow<E, F extends string, V extends string> = E extends { readonly [P in F]: infer EV }
  ? [EV] extends [V]
    ? E
    : V extends EV
      ? E & { readonly [P in F]: V }
      : Extract<V, EV> extends never
        ? never
        : E & { readonly [P in F]: Extract<V, EV> }
  : never;
