// circuit breaker

// bulkhead
export { Bulkhead, type BulkheadMetrics, type BulkheadOptions } from './bulkhead.js';
export {
  BULKHEAD_DEFAULTS,
  type BulkheadConfig,
  type BulkheadSettings,
  resolveBulkheadConfig,
} from './bulkhead-config.js';
export type * from './bulkhead-events.js';
export { BulkheadRegistry, type BulkheadRegistryOptions } from './bulkhead-registry.js';
export {
  BULKHEAD_FULL,
  type BulkheadEngine,
  type BulkheadState,
  type BulkheadStore,
  type SlotFreedListener,
} from './bulkhead-store.js';
export { markUsed, type UsedCell, type UseOrder } from './cell-use.js';
export { CircuitBreaker, type CircuitBreakerOptions, type Supplier } from './circuit-breaker.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerConfig,
  type CircuitBreakerSettings,
  ErrorVerdict,
  type HalfOpenPolicy,
  MAX_OPEN_ATTEMPT,
  mergeCircuitBreakerConfigs,
  resolveCircuitBreakerConfig,
  type SlidingWindowType,
} from './circuit-breaker-config.js';
export type * from './circuit-breaker-events.js';
export {
  acquireIn,
  type BreakerTransition,
  type CircuitBreakerMetrics,
  CURRENT_PERMIT,
  carryTripIn,
  createEffects,
  DENIED_FORCED_OPEN,
  DENIED_HALF_OPEN,
  DENIED_OPEN,
  deniedState,
  isLegalTransition,
  type ManualTarget,
  metricsOf,
  nextDueAt,
  recordIn,
  refreshIn,
  releaseIn,
  type StepDecision,
  type StepEffects,
  type StepInput,
  type StepResult,
  step,
  type ThresholdExceeded,
  type TransitionReason,
  type TripReason,
  tickIn,
  transitionIn,
} from './circuit-breaker-machine.js';
export { CircuitBreakerRegistry, type CircuitBreakerRegistryOptions } from './circuit-breaker-registry.js';
export {
  alignBreakerState,
  type BreakerState,
  breakerStateProblem,
  type CircuitBreakerStateName,
  cloneBreakerState,
  initialBreakerState,
  STATES,
} from './circuit-breaker-state.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export { ConfigReader, type ErrorClass, type ErrorMatcher, toErrorPredicate } from './config-validation.js';
// decorator chain
export {
  type DecoratedFunctionWithSignal,
  type DecoratedSupplier,
  Decorators,
  type FallbackHandler,
  FunctionDecorator,
  type ResultFallback,
  SupplierDecorator,
} from './decorators.js';
export {
  BreakwaterError,
  BulkheadFullError,
  CallNotPermittedError,
  ConfigError,
  type ConfigErrorDetails,
  IllegalStateTransitionError,
  type IntervalOutcome,
  MaxRetriesExceededError,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
  type RetriedFailure,
  RetryIntervalError,
  TimeoutError,
} from './errors.js';
export { EventPublisher, type Unsubscribe } from './event-publisher.js';
// retry, time limiter, fallback
export {
  Fallback,
  type FallbackOnClasses,
  type FallbackOnErrors,
  type FallbackWhen,
  type FallbackWhenResult,
} from './fallback.js';
export { IntervalFunction, type RandomSource } from './interval-function.js';
export {
  type BreakerCell,
  type BreakerListeners,
  createBreakerCell,
  LocalBreakerEngine,
} from './local-breaker-engine.js';
export {
  type BulkheadCell,
  type BulkheadListeners,
  createBulkheadCell,
  LocalBulkheadEngine,
} from './local-bulkhead-engine.js';
export {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  LocalFixedWindowEngine,
  LocalGcraEngine,
  type RateLimiterCell,
} from './local-rate-limiter-engine.js';
export { MAX_POLICY_NAME_LENGTH, validatePolicyName } from './policy-name.js';
export { type NamedConfigs, PolicyRegistry } from './policy-registry.js';
// rate limiter
export { RateLimiter, type RateLimiterMetrics, type RateLimiterOptions } from './rate-limiter.js';
export {
  RATE_LIMITER_DEFAULTS,
  type RateLimiterAlgorithm,
  type RateLimiterConfig,
  type RateLimiterSettings,
  resolveRateLimiterConfig,
} from './rate-limiter-config.js';
export type * from './rate-limiter-events.js';
export { RateLimiterRegistry, type RateLimiterRegistryOptions } from './rate-limiter-registry.js';
export {
  cloneRateLimiterState,
  type FixedWindowState,
  type GcraState,
  initialRateLimiterState,
  type RateLimiterEngine,
  type RateLimiterState,
  type RateLimiterStore,
  rateLimiterStateProblem,
} from './rate-limiter-store.js';
export { onEveryPolicyEvent } from './registry-events.js';
export { Retry, type RetryMetrics, type RetryOptions } from './retry.js';
export {
  mergeRetryConfig,
  RETRY_DEFAULTS,
  type RetryConfig,
  type RetrySettings,
  RetryVerdict,
  resolveRetryConfig,
} from './retry-config.js';
export type * from './retry-events.js';
export { RetryRegistry, type RetryRegistryOptions } from './retry-registry.js';
export { NEVER_ABORTED } from './signal.js';
export type { Sleep } from './sleep.js';
export {
  type CountWindow,
  OUTCOME_FAILURE,
  OUTCOME_SLOW,
  OUTCOME_SUCCESS,
  type Outcome,
  type SlidingWindow,
  type TimeWindow,
} from './sliding-window.js';
export type { BreakerEffectsListener, BreakerEngine, BreakerView, MaybePromise, Store } from './store.js';
export { TimeLimiter, type TimeLimiterMetrics, type TimeLimiterOptions } from './time-limiter.js';
export {
  resolveTimeLimiterConfig,
  TIME_LIMITER_DEFAULTS,
  type TimeLimiterConfig,
  type TimeLimiterSettings,
} from './time-limiter-config.js';
export type * from './time-limiter-events.js';
export { TimeLimiterRegistry, type TimeLimiterRegistryOptions } from './time-limiter-registry.js';
export { WeakListenerSet } from './weak-listener-set.js';
