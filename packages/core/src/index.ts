/**
 * `@breakwater/core`: what application code uses. Policies with their configs, events, metrics and
 * registries; the decorator chain; errors; clocks; and the store types a user passes.
 *
 * Store authors find the machinery behind the `Store` contract (the reference state machine,
 * state records, in-process engines, cells) in `@breakwater/core/engine`.
 */

// ------------------------------------------------------------------ circuit breaker

export { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker/circuit-breaker.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerConfig,
  type CircuitBreakerSettings,
  ErrorVerdict,
  type HalfOpenPolicy,
  type SlidingWindowType,
} from './circuit-breaker/circuit-breaker-config.js';
export type * from './circuit-breaker/circuit-breaker-events.js';
export type { CircuitBreakerMetrics, TransitionReason } from './circuit-breaker/circuit-breaker-machine.js';
export {
  CircuitBreakerRegistry,
  type CircuitBreakerRegistryOptions,
} from './circuit-breaker/circuit-breaker-registry.js';
export { type CircuitBreakerStateName, STATES } from './circuit-breaker/circuit-breaker-state.js';
export type { Store } from './circuit-breaker/circuit-breaker-store.js';

// ------------------------------------------------------------------ retry

export { IntervalFunction, type RandomSource } from './retry/interval-function.js';
export { Retry, type RetryMetrics, type RetryOptions } from './retry/retry.js';
export { RETRY_DEFAULTS, type RetryConfig, type RetrySettings, RetryVerdict } from './retry/retry-config.js';
export type * from './retry/retry-events.js';
export { RetryRegistry, type RetryRegistryOptions } from './retry/retry-registry.js';
export type { Sleep } from './retry/sleep.js';

// ------------------------------------------------------------------ rate limiter

export {
  RateLimiter,
  type RateLimiterMetrics,
  type RateLimiterOptions,
} from './rate-limiter/rate-limiter.js';
export {
  RATE_LIMITER_DEFAULTS,
  type RateLimiterAlgorithm,
  type RateLimiterConfig,
  type RateLimiterSettings,
} from './rate-limiter/rate-limiter-config.js';
export type * from './rate-limiter/rate-limiter-events.js';
export {
  RateLimiterRegistry,
  type RateLimiterRegistryOptions,
} from './rate-limiter/rate-limiter-registry.js';
export type { RateLimiterStore } from './rate-limiter/rate-limiter-store.js';

// ------------------------------------------------------------------ time limiter

export {
  TimeLimiter,
  type TimeLimiterMetrics,
  type TimeLimiterOptions,
} from './time-limiter/time-limiter.js';
export {
  TIME_LIMITER_DEFAULTS,
  type TimeLimiterConfig,
  type TimeLimiterSettings,
} from './time-limiter/time-limiter-config.js';
export type * from './time-limiter/time-limiter-events.js';
export {
  TimeLimiterRegistry,
  type TimeLimiterRegistryOptions,
} from './time-limiter/time-limiter-registry.js';

// ------------------------------------------------------------------ bulkhead

export { Bulkhead, type BulkheadMetrics, type BulkheadOptions } from './bulkhead/bulkhead.js';
export { BULKHEAD_DEFAULTS, type BulkheadConfig, type BulkheadSettings } from './bulkhead/bulkhead-config.js';
export type * from './bulkhead/bulkhead-events.js';
export { BulkheadRegistry, type BulkheadRegistryOptions } from './bulkhead/bulkhead-registry.js';
export type { BulkheadStore } from './bulkhead/bulkhead-store.js';

// ------------------------------------------------------------------ fallback and the decorator chain

export {
  type DecoratedFunctionWithSignal,
  type DecoratedSupplier,
  Decorators,
  type FallbackHandler,
  type FunctionDecorator,
  type ResultFallback,
  type SupplierDecorator,
} from './decorators/decorators.js';
export type { ReadThroughCache } from './decorators/read-through-cache.js';
export {
  Fallback,
  type FallbackOnClasses,
  type FallbackOnErrors,
  type FallbackWhen,
  type FallbackWhenResult,
} from './fallback/fallback.js';

// ------------------------------------------------------------------ common

export { type Clock, ManualClock, systemClock } from './common/clock.js';
export type { ErrorClass, ErrorMatcher } from './common/config-reader.js';
export {
  BreakwaterError,
  BulkheadFullError,
  CallNotPermittedError,
  ConfigError,
  type ConfigErrorDetails,
  IllegalStateTransitionError,
  type IntervalOutcome,
  MaxRetriesExceededError,
  type PolicyRef,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
  type RetriedFailure,
  RetryIntervalError,
  TimeoutError,
} from './common/errors.js';
export type { Unsubscribe } from './common/event-publisher.js';
export type { Policy, Registry } from './common/policy.js';
export { MAX_POLICY_NAME_LENGTH } from './common/policy-name.js';
export type { NamedConfigs } from './common/policy-registry.js';
export type { MaybePromise, PolicyKind, Supplier } from './common/types.js';
