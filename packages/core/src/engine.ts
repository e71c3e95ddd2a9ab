/**
 * `@breakwater/core/engine`: for store authors, not for application code. What a store needs to
 * implement the contracts that `@breakwater/core` exports as `Store`, `RateLimiterStore` and
 * `BulkheadStore`:
 *
 * - the engine interfaces a store hands out, and their answer codes (`DENIED_*`, `BULKHEAD_FULL`);
 * - the circuit breaker's reference state machine: the pure `step(state, input, settings, now)`
 *   and the in-place `*In` functions it wraps, which every engine must agree with
 *   (`test/conformance` holds each store to it);
 * - the state records of each policy, with their initial value, copy and validation;
 * - the in-process engines and their cells, which `MemoryStore` shares by name and a store may
 *   fall back to;
 * - helpers: config resolution, cell use for LRU eviction, weakly held listeners, a typed event
 *   publisher, the options reader and the name check the policies use.
 *
 * Everything here may change between minor versions in ways that matter only to stores.
 */

// ------------------------------------------------------------------ circuit breaker

export {
  MAX_OPEN_ATTEMPT,
  mergeCircuitBreakerConfigs,
  resolveCircuitBreakerConfig,
} from './circuit-breaker/circuit-breaker-config.js';
export {
  acquireIn,
  type BreakerTransition,
  CLOSED_PERIOD_PERMIT,
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
  type TripReason,
  tickIn,
  transitionIn,
} from './circuit-breaker/circuit-breaker-machine.js';
export {
  alignBreakerState,
  type BreakerState,
  breakerStateProblem,
  cloneBreakerState,
  initialBreakerState,
} from './circuit-breaker/circuit-breaker-state.js';
export type {
  BreakerEffectsListener,
  BreakerEngine,
  BreakerView,
} from './circuit-breaker/circuit-breaker-store.js';
export {
  type FleetStoreFailureMessage,
  type FleetTransitionMessage,
  rateOfCounts,
  type WindowCounts,
} from './circuit-breaker/fleet-messages.js';
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

// ------------------------------------------------------------------ retry, time limiter

export { resolveRetryConfig } from './retry/retry-config.js';
export { resolveTimeLimiterConfig } from './time-limiter/time-limiter-config.js';

// ------------------------------------------------------------------ rate limiter

export {
  createLocalRateLimiterEngine,
  createRateLimiterCell,
  LocalFixedWindowEngine,
  LocalGcraEngine,
  type RateLimiterCell,
} from './rate-limiter/local-rate-limiter-engine.js';
export { resolveRateLimiterConfig } from './rate-limiter/rate-limiter-config.js';
export {
  cloneRateLimiterState,
  type FixedWindowState,
  type GcraState,
  initialRateLimiterState,
  type RateLimiterState,
  rateLimiterStateProblem,
} from './rate-limiter/rate-limiter-state.js';
export type { RateLimiterEngine } from './rate-limiter/rate-limiter-store.js';

// ------------------------------------------------------------------ bulkhead

export { resolveBulkheadConfig } from './bulkhead/bulkhead-config.js';
export {
  BULKHEAD_FULL,
  type BulkheadEngine,
  type BulkheadState,
  type SlotFreedListener,
} from './bulkhead/bulkhead-store.js';
export {
  type BulkheadCell,
  type BulkheadListeners,
  createBulkheadCell,
  LocalBulkheadEngine,
} from './bulkhead/local-bulkhead-engine.js';

// ------------------------------------------------------------------ common

export { markUsed, type UsedCell, type UseOrder } from './common/cell-use.js';
export { ConfigReader } from './common/config-reader.js';
export { EventPublisher } from './common/event-publisher.js';
export { validatePolicyName } from './common/policy-name.js';
export { PolicyRegistry } from './common/policy-registry.js';
export { NEVER_ABORTED } from './common/signal.js';
export { WeakListenerSet } from './common/weak-listener-set.js';
