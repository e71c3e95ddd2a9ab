/**
 * The two entries of the package: `@breakwater/core` for application code and
 * `@breakwater/core/engine` for store authors. Every runtime name is a promise to its users, so
 * the lists are pinned here: adding a name is a decision, made by changing this test.
 */
import * as core from '@breakwater/core';
import * as engine from '@breakwater/core/engine';
import { describe, expect, it } from 'vitest';

/** What application code uses. */
const PUBLIC = [
  'BULKHEAD_DEFAULTS',
  'BreakwaterError',
  'Bulkhead',
  'BulkheadFullError',
  'BulkheadRegistry',
  'CIRCUIT_BREAKER_DEFAULTS',
  'CallNotPermittedError',
  'CircuitBreaker',
  'CircuitBreakerRegistry',
  'ConfigError',
  'Decorators',
  'ErrorVerdict',
  'Fallback',
  'IllegalStateTransitionError',
  'IntervalFunction',
  'MAX_POLICY_NAME_LENGTH',
  'ManualClock',
  'MaxRetriesExceededError',
  'RATE_LIMITER_DEFAULTS',
  'RETRY_DEFAULTS',
  'RateLimiter',
  'RateLimiterRegistry',
  'RequestNotPermittedError',
  'ResultRecordedAsFailureError',
  'Retry',
  'RetryIntervalError',
  'RetryRegistry',
  'RetryVerdict',
  'STATES',
  'TIME_LIMITER_DEFAULTS',
  'TimeLimiter',
  'TimeLimiterRegistry',
  'TimeoutError',
  'systemClock',
];

/** What only a store needs. */
const ENGINE = [
  'BULKHEAD_FULL',
  'CLOSED_PERIOD_PERMIT',
  'CURRENT_PERMIT',
  'ConfigReader',
  'DENIED_FORCED_OPEN',
  'DENIED_HALF_OPEN',
  'DENIED_OPEN',
  'EventPublisher',
  'LocalBreakerEngine',
  'LocalBulkheadEngine',
  'LocalFixedWindowEngine',
  'LocalGcraEngine',
  'MAX_OPEN_ATTEMPT',
  'NEVER_ABORTED',
  'OUTCOME_FAILURE',
  'OUTCOME_SLOW',
  'OUTCOME_SUCCESS',
  'PolicyRegistry',
  'WeakListenerSet',
  'acquireIn',
  'alignBreakerState',
  'breakerStateProblem',
  'carryTripIn',
  'cloneBreakerState',
  'cloneRateLimiterState',
  'createBreakerCell',
  'createBulkheadCell',
  'createEffects',
  'createLocalRateLimiterEngine',
  'createRateLimiterCell',
  'deniedState',
  'initialBreakerState',
  'initialRateLimiterState',
  'isLegalTransition',
  'markUsed',
  'mergeCircuitBreakerConfigs',
  'metricsOf',
  'nextDueAt',
  'rateLimiterStateProblem',
  'rateOfCounts',
  'recordIn',
  'refreshIn',
  'releaseIn',
  'resolveBulkheadConfig',
  'resolveCircuitBreakerConfig',
  'resolveRateLimiterConfig',
  'resolveRetryConfig',
  'resolveTimeLimiterConfig',
  'step',
  'tickIn',
  'transitionIn',
  'validatePolicyName',
];

/** The names DESIGN.md section 4 imports from `@breakwater/core`: a contract. */
const CONTRACT = [
  'CircuitBreaker',
  'CircuitBreakerRegistry',
  'Retry',
  'RateLimiter',
  'TimeLimiter',
  'Bulkhead',
  'Decorators',
  'IntervalFunction',
  'CallNotPermittedError',
  'BulkheadFullError',
  'RequestNotPermittedError',
  'TimeoutError',
];

const sorted = (names: readonly string[]) => [...names].sort();

describe('the entries of @breakwater/core', () => {
  it('the public entry exports what application code uses, and no more', () => {
    expect(sorted(Object.keys(core))).toEqual(sorted(PUBLIC));
    expect(PUBLIC.length).toBeLessThanOrEqual(45);
  });

  it('the public entry keeps every name the design marks as contract', () => {
    for (const name of CONTRACT) expect(Object.keys(core)).toContain(name);
  });

  it('the engine subpath exports the store machinery, none of it also public', () => {
    expect(sorted(Object.keys(engine))).toEqual(sorted(ENGINE));
    const both = Object.keys(engine).filter((name) => name in core);
    expect(both).toEqual([]);
  });
});
