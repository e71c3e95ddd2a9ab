// circuit breaker

// bulkhead
export { Bulkhead, type BulkheadMetrics, type BulkheadOptions } from './bulkhead/bulkhead.js';
export {
  BULKHEAD_DEFAULTS,
  type BulkheadConfig,
  type BulkheadSettings,
  resolveBulkheadConfig,
} from './bulkhead/bulkhead-config.js';
export type * from './bulkhead/bulkhead-events.js';
export { BulkheadRegistry, type BulkheadRegistryOptions } from './bulkhead/bulkhead-registry.js';
export {
  BULKHEAD_FULL,
  type BulkheadEngine,
  type BulkheadState,
  type BulkheadStore,
  type SlotFreedListener,
} from './bulkhead/bulkhead-store.js';
export {
  type BulkheadCell,
  type BulkheadListeners,
  createBulkheadCell,
  LocalBulkheadEngine,
} from './bulkhead/local-bulkhead-engine.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
} from './circuit-breaker/circuit-breaker.js';
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
} from './circuit-breaker/circuit-breaker-config.js';
export type * from './circuit-breaker/circuit-breaker-events.js';
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
} from './circuit-breaker/circuit-breaker-machine.js';
export {
  CircuitBreakerRegistry,
  type CircuitBreakerRegistryOptions,
} from './circuit-breaker/circuit-breaker-registry.js';
export {
  alignBreakerState,
  type BreakerState,
  breakerStateProblem,
  type CircuitBreakerStateName,
  cloneBreakerState,
  initialBreakerState,
  STATES,
} from './circuit-breaker/circuit-breaker-state.js';
export type {
  BreakerEffectsListener,
  BreakerEngine,
  BreakerView,
  Store,
} from './circuit-breaker/circuit-breaker-store.js';
export {
  type BreakerCell,
  type BreakerListeners,
  createBreakerCell,
  LocalBreakerEngine,
} from './circuit-breaker/local-circuit-breaker-engine.js';
export {
  type CountWindow,
  OUTCOME_FAILURE,
  OUTCOME_SLOW,
  OUTCOME_SUCCESS,
  type Outcome,
  type SlidingWindow,
  type TimeWindow,
} from './circuit-breaker/sliding-window.js';
export { markUsed, type UsedCell, type UseOrder } from './common/cell-use.js';
export { type Clock, ManualClock, systemClock } from './common/clock.js';
export {
  ConfigReader,
  type ErrorClass,
  type ErrorMatcher,
  toErrorPredicate,
} from './common/config-reader.js';
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
} from './common/errors.js';
export { EventPublisher, type Unsubscribe } from './common/event-publisher.js';
export type { Policy, Registry } from './common/policy.js';
export { MAX_POLICY_NAME_LENGTH, validatePolicyName } from './common/policy-name.js';
export { type NamedConfigs, PolicyRegistry } from './common/policy-registry.js';
export { NEVER_ABORTED } from './common/signal.js';
export type { MaybePromise, PolicyKind, Supplier } from './common/types.js';
export { WeakListenerSet } from './common/weak-listener-set.js';
// decorator chain
export {
  type DecoratedFunctionWithSignal,
  type DecoratedSupplier,
  Decorators,
  type FallbackHandler,
  FunctionDecorator,
  type ResultFallback,
  SupplierDecorator,
} from './decorators/decorators.js';
// retry, time limiter, fallback
export {
  Fallback,
  type FallbackOnClasses,
  type FallbackOnErrors,
  type FallbackWhen,
  type FallbackWhenResult,
} from './fallback/fallback.js';
export {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  LocalFixedWindowEngine,
  LocalGcraEngine,
  type RateLimiterCell,
} from './rate-limiter/local-rate-limiter-engine.js';
// rate limiter
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
  resolveRateLimiterConfig,
} from './rate-limiter/rate-limiter-config.js';
export type * from './rate-limiter/rate-limiter-events.js';
export {
  RateLimiterRegistry,
  type RateLimiterRegistryOptions,
} from './rate-limiter/rate-limiter-registry.js';
export {
  cloneRateLimiterState,
  type FixedWindowState,
  type GcraState,
  initialRateLimiterState,
  type RateLimiterState,
  rateLimiterStateProblem,
} from './rate-limiter/rate-limiter-state.js';
export type { RateLimiterEngine, RateLimiterStore } from './rate-limiter/rate-limiter-store.js';
export { IntervalFunction, type RandomSource } from './retry/interval-function.js';
export { Retry, type RetryMetrics, type RetryOptions } from './retry/retry.js';
export {
  mergeRetryConfig,
  RETRY_DEFAULTS,
  type RetryConfig,
  type RetrySettings,
  RetryVerdict,
  resolveRetryConfig,
} from './retry/retry-config.js';
export type * from './retry/retry-events.js';
export { RetryRegistry, type RetryRegistryOptions } from './retry/retry-registry.js';
export type { Sleep } from './retry/sleep.js';
export {
  TimeLimiter,
  type TimeLimiterMetrics,
  type TimeLimiterOptions,
} from './time-limiter/time-limiter.js';
export {
  resolveTimeLimiterConfig,
  TIME_LIMITER_DEFAULTS,
  type TimeLimiterConfig,
  type TimeLimiterSettings,
} from './time-limiter/time-limiter-config.js';
export type * from './time-limiter/time-limiter-events.js';
export {
  TimeLimiterRegistry,
  type TimeLimiterRegistryOptions,
} from './time-limiter/time-limiter-registry.js';
