// circuit breaker
export { CircuitBreaker, type CircuitBreakerOptions, type Supplier } from './circuit-breaker.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerConfig,
  type CircuitBreakerSettings,
  ErrorVerdict,
  type HalfOpenPolicy,
  resolveCircuitBreakerConfig,
  type SlidingWindowType,
} from './circuit-breaker-config.js';
export type * from './circuit-breaker-events.js';
export {
  acquireIn,
  type BreakerTransition,
  type CircuitBreakerMetrics,
  CURRENT_PERMIT,
  createEffects,
  DENIED_FORCED_OPEN,
  DENIED_HALF_OPEN,
  DENIED_OPEN,
  deniedState,
  isLegalTransition,
  type ManualTarget,
  metricsOf,
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
  tickIn,
  transitionIn,
} from './circuit-breaker-machine.js';
export { CircuitBreakerRegistry, type CircuitBreakerRegistryOptions } from './circuit-breaker-registry.js';
export {
  type BreakerState,
  breakerStateProblem,
  type CircuitBreakerStateName,
  cloneBreakerState,
  initialBreakerState,
  STATES,
} from './circuit-breaker-state.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export { ConfigReader, type ErrorClass, type ErrorMatcher, toErrorPredicate } from './config-validation.js';
export {
  BreakwaterError,
  BulkheadFullError,
  CallNotPermittedError,
  ConfigError,
  type ConfigErrorDetails,
  IllegalStateTransitionError,
  MaxRetriesExceededError,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
  TimeoutError,
} from './errors.js';
export { EventPublisher, type Unsubscribe } from './event-publisher.js';
export { type BreakerCell, createBreakerCell, LocalBreakerEngine } from './local-breaker-engine.js';
export { MAX_POLICY_NAME_LENGTH, validatePolicyName } from './policy-name.js';
export { type NamedConfigs, PolicyRegistry } from './policy-registry.js';
export { NEVER_ABORTED } from './signal.js';
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
