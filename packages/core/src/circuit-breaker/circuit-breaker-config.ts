import { type ErrorMatcher, policyConfigReader } from '../common/config-reader.js';
import {
  BreakwaterError,
  BulkheadFullError,
  CallNotPermittedError,
  RequestNotPermittedError,
} from '../common/errors.js';

export type SlidingWindowType = 'COUNT_BASED' | 'TIME_BASED';
export type HalfOpenPolicy = 'rate' | 'successes';

/** What a user passes; every field is optional and defaults as in Resilience4j. Durations in ms. */
export interface CircuitBreakerConfig {
  /** `'COUNT_BASED'` (the last N calls) or `'TIME_BASED'` (the calls of the last N seconds). Default `'COUNT_BASED'`. */
  readonly slidingWindowType?: SlidingWindowType;
  /** Calls (COUNT_BASED) or seconds (TIME_BASED) in the window. Default 100. */
  readonly slidingWindowSize?: number;
  /** Calls the window must hold before rates are computed. Default 100 (capped at the window size when COUNT_BASED). */
  readonly minimumNumberOfCalls?: number;
  /** Failure rate in percent at which the breaker opens. Default 50. */
  readonly failureRateThreshold?: number;
  /** Slow-call rate in percent at which the breaker opens. Default 100. */
  readonly slowCallRateThreshold?: number;
  /** A call slower than this (ms) is slow. Default 60000. */
  readonly slowCallDurationThreshold?: number;
  /** Probe calls allowed in HALF_OPEN. Default 10. */
  readonly permittedNumberOfCallsInHalfOpenState?: number;
  /** Longest stay in HALF_OPEN (ms); 0 waits for the permitted calls. Default 0. */
  readonly maxWaitDurationInHalfOpenState?: number;
  /** Where the end of `maxWaitDurationInHalfOpenState` leads. Default `'OPEN'`. */
  readonly transitionToStateAfterWaitDuration?: 'OPEN' | 'CLOSED';
  /** Time spent OPEN before probing (ms). Default 60000. */
  readonly waitDurationInOpenState?: number;
  /** Time spent OPEN as a function of consecutive openings (1-based, at most 32: later openings wait as the 32nd); replaces `waitDurationInOpenState`. */
  readonly waitIntervalFunctionInOpenState?: (attempt: number) => number;
  /** Go to HALF_OPEN when the wait ends, without waiting for a call. Default false. */
  readonly automaticTransitionFromOpenToHalfOpenEnabled?: boolean;
  /** Errors that count as failures: classes or a predicate. Default: every error. */
  readonly recordExceptions?: ErrorMatcher;
  /** Errors that count as neither failure nor success (wins over `recordExceptions`). Default: none. */
  readonly ignoreExceptions?: ErrorMatcher;
  /** A result for which this returns true counts as a failure. Default: none. */
  readonly recordResult?: (result: unknown) => boolean;
  /** Open when this many failures are in the window (not gated by the minimum). Default: off. */
  readonly failureCountThreshold?: number;
  /** Open after this many failures in a row (not gated by the minimum). Default: off. */
  readonly consecutiveFailureThreshold?: number;
  /** How HALF_OPEN decides: `'rate'` (Resilience4j) or `'successes'`. Default `'rate'`. */
  readonly halfOpenPolicy?: HalfOpenPolicy;
  /** With `halfOpenPolicy: 'successes'`: successes needed to close. Default: the permitted number. */
  readonly successThresholdInHalfOpenState?: number;
}

/** How one error is counted. */
export const ErrorVerdict = Object.freeze({ Failure: 0, Ignored: 1, Success: 2 } as const);
export type ErrorVerdict = (typeof ErrorVerdict)[keyof typeof ErrorVerdict];

/** A validated config with every default filled in; what engines and stores receive. */
export interface CircuitBreakerSettings {
  readonly slidingWindowType: SlidingWindowType;
  readonly slidingWindowSize: number;
  readonly minimumNumberOfCalls: number;
  /** The minimum the CLOSED window applies (Resilience4j caps it at the size for COUNT_BASED). */
  readonly closedMinimumCalls: number;
  /** The minimum the HALF_OPEN window applies: min(minimumNumberOfCalls, permitted calls). */
  readonly halfOpenMinimumCalls: number;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly slowCallDurationThreshold: number;
  readonly permittedNumberOfCallsInHalfOpenState: number;
  readonly maxWaitDurationInHalfOpenState: number;
  readonly transitionToStateAfterWaitDuration: 'OPEN' | 'CLOSED';
  readonly waitDurationInOpenState: number;
  /** The open wait for the n-th consecutive opening (always >= 1 ms). */
  readonly waitDurationFor: (attempt: number) => number;
  /** True when the wait depends on the attempt (a user's interval function). */
  readonly hasWaitIntervalFunction: boolean;
  readonly automaticTransitionFromOpenToHalfOpenEnabled: boolean;
  /** 0 = off. */
  readonly failureCountThreshold: number;
  /** 0 = off. */
  readonly consecutiveFailureThreshold: number;
  readonly halfOpenPolicy: HalfOpenPolicy;
  readonly successThresholdInHalfOpenState: number;
  readonly classifyError: (error: unknown) => ErrorVerdict;
  readonly recordResult: ((result: unknown) => boolean) | undefined;
}

export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  slidingWindowType: 'COUNT_BASED' as SlidingWindowType,
  slidingWindowSize: 100,
  minimumNumberOfCalls: 100,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  slowCallDurationThreshold: 60_000,
  permittedNumberOfCallsInHalfOpenState: 10,
  maxWaitDurationInHalfOpenState: 0,
  transitionToStateAfterWaitDuration: 'OPEN' as 'OPEN' | 'CLOSED',
  waitDurationInOpenState: 60_000,
  automaticTransitionFromOpenToHalfOpenEnabled: false,
  halfOpenPolicy: 'rate' as HalfOpenPolicy,
});

const KNOWN_KEYS: readonly (keyof CircuitBreakerConfig)[] = [
  'slidingWindowType',
  'slidingWindowSize',
  'minimumNumberOfCalls',
  'failureRateThreshold',
  'slowCallRateThreshold',
  'slowCallDurationThreshold',
  'permittedNumberOfCallsInHalfOpenState',
  'maxWaitDurationInHalfOpenState',
  'transitionToStateAfterWaitDuration',
  'waitDurationInOpenState',
  'waitIntervalFunctionInOpenState',
  'automaticTransitionFromOpenToHalfOpenEnabled',
  'recordExceptions',
  'ignoreExceptions',
  'recordResult',
  'failureCountThreshold',
  'consecutiveFailureThreshold',
  'halfOpenPolicy',
  'successThresholdInHalfOpenState',
];

/** A TIME_BASED window longer than a day is almost certainly a unit mistake (seconds vs ms). */
const MAX_TIME_WINDOW_SECONDS = 86_400;
const MAX_COUNT_WINDOW = 1_000_000;

/** Validates `config` once, at construction. Throws `ConfigError` naming the field, the value and what is allowed. */
export function resolveCircuitBreakerConfig(config: unknown, name?: string): CircuitBreakerSettings {
  const r = policyConfigReader('circuitbreaker', name, config, KNOWN_KEYS);
  const d = CIRCUIT_BREAKER_DEFAULTS;
  const slidingWindowType = r.oneOf('slidingWindowType', d.slidingWindowType, ['COUNT_BASED', 'TIME_BASED']);
  const maxSize = slidingWindowType === 'TIME_BASED' ? MAX_TIME_WINDOW_SECONDS : MAX_COUNT_WINDOW;
  const slidingWindowSize = r.integer('slidingWindowSize', d.slidingWindowSize, 1, maxSize);
  const minimumNumberOfCalls = r.integer('minimumNumberOfCalls', d.minimumNumberOfCalls, 1);
  const permitted = r.integer(
    'permittedNumberOfCallsInHalfOpenState',
    d.permittedNumberOfCallsInHalfOpenState,
    1,
    MAX_COUNT_WINDOW,
  );
  if (r.has('waitDurationInOpenState') && r.has('waitIntervalFunctionInOpenState')) {
    r.fail(
      'waitIntervalFunctionInOpenState',
      'absent when waitDurationInOpenState is given (give one of the two)',
    );
  }
  const waitDurationInOpenState = r.number('waitDurationInOpenState', d.waitDurationInOpenState, 1);
  const intervalFn = r.func<(attempt: number) => number>('waitIntervalFunctionInOpenState', undefined);
  const halfOpenPolicy = r.oneOf('halfOpenPolicy', d.halfOpenPolicy, ['rate', 'successes']);
  if (halfOpenPolicy === 'rate' && r.has('successThresholdInHalfOpenState')) {
    r.fail('successThresholdInHalfOpenState', "absent unless halfOpenPolicy is 'successes'");
  }
  const failureCountThreshold = r.integer('failureCountThreshold', 0, 1);
  if (slidingWindowType === 'COUNT_BASED' && failureCountThreshold > slidingWindowSize) {
    r.fail(
      'failureCountThreshold',
      `at most slidingWindowSize (${slidingWindowSize}), or it can never be reached`,
    );
  }
  const isRecorded = r.errorMatcher('recordExceptions');
  const isIgnored = r.errorMatcher('ignoreExceptions');

  return Object.freeze({
    slidingWindowType,
    slidingWindowSize,
    minimumNumberOfCalls,
    closedMinimumCalls:
      slidingWindowType === 'COUNT_BASED'
        ? Math.min(minimumNumberOfCalls, slidingWindowSize)
        : minimumNumberOfCalls,
    halfOpenMinimumCalls: Math.min(minimumNumberOfCalls, permitted),
    failureRateThreshold: r.percentage('failureRateThreshold', d.failureRateThreshold),
    slowCallRateThreshold: r.percentage('slowCallRateThreshold', d.slowCallRateThreshold),
    slowCallDurationThreshold: r.number(
      'slowCallDurationThreshold',
      d.slowCallDurationThreshold,
      0,
      Infinity,
      true,
    ),
    permittedNumberOfCallsInHalfOpenState: permitted,
    maxWaitDurationInHalfOpenState: r.number(
      'maxWaitDurationInHalfOpenState',
      d.maxWaitDurationInHalfOpenState,
      0,
    ),
    transitionToStateAfterWaitDuration: r.oneOf(
      'transitionToStateAfterWaitDuration',
      d.transitionToStateAfterWaitDuration,
      ['OPEN', 'CLOSED'],
    ),
    waitDurationInOpenState,
    waitDurationFor: intervalFn
      ? safeInterval(intervalFn, waitDurationInOpenState)
      : () => waitDurationInOpenState,
    hasWaitIntervalFunction: intervalFn !== undefined,
    automaticTransitionFromOpenToHalfOpenEnabled: r.boolean(
      'automaticTransitionFromOpenToHalfOpenEnabled',
      d.automaticTransitionFromOpenToHalfOpenEnabled,
    ),
    failureCountThreshold,
    consecutiveFailureThreshold: r.integer('consecutiveFailureThreshold', 0, 1),
    halfOpenPolicy,
    successThresholdInHalfOpenState: r.integer('successThresholdInHalfOpenState', permitted, 1, permitted),
    classifyError: errorClassifier(isRecorded, isIgnored),
    recordResult: r.func<(result: unknown) => boolean>('recordResult', undefined),
  });
}

/**
 * Consecutive openings beyond this one wait as long as this one: a shared store precomputes the
 * waits (its scripts cannot call back into JS), and any sane backoff has long reached its cap.
 */
export const MAX_OPEN_ATTEMPT = 32;

/** An interval function that misbehaves (throws, NaN, < 1 ms) falls back to the fixed wait. */
function safeInterval(fn: (attempt: number) => number, fallback: number): (attempt: number) => number {
  return (attempt) => {
    let ms: number;
    try {
      ms = fn(Math.min(attempt, MAX_OPEN_ATTEMPT));
    } catch {
      return fallback;
    }
    return typeof ms === 'number' && Number.isFinite(ms) ? Math.max(1, ms) : fallback;
  };
}

/**
 * Rejections by Breakwater's own policies inside the breaker (a full bulkhead, a rate limit, an
 * inner open breaker) never reached the downstream: they say nothing about its health, so they
 * are ignored (opossum counts bulkhead rejections as failures; we do not).
 */
function isOwnRejection(error: unknown): boolean {
  // One prototype walk for a foreign error; the three checks only for our own.
  return (
    error instanceof BreakwaterError &&
    (error instanceof BulkheadFullError ||
      error instanceof RequestNotPermittedError ||
      error instanceof CallNotPermittedError)
  );
}

function errorClassifier(
  isRecorded: ((e: unknown) => boolean) | undefined,
  isIgnored: ((e: unknown) => boolean) | undefined,
): (error: unknown) => ErrorVerdict {
  if (!isRecorded && !isIgnored)
    return (error) => (isOwnRejection(error) ? ErrorVerdict.Ignored : ErrorVerdict.Failure);
  return (error) => {
    if (isOwnRejection(error)) return ErrorVerdict.Ignored;
    // A predicate that throws must not leave a permit hanging: count the call as a failure.
    try {
      if (isIgnored?.(error)) return ErrorVerdict.Ignored;
      if (!isRecorded || isRecorded(error)) return ErrorVerdict.Failure;
      return ErrorVerdict.Success;
    } catch {
      return ErrorVerdict.Failure;
    }
  };
}

/**
 * A config laid over a base config (registries: a named config over `default`). Where the two
 * set options that exclude each other, the override wins and the base's counterpart is dropped.
 */
export function mergeCircuitBreakerConfigs(
  base: CircuitBreakerConfig,
  override: CircuitBreakerConfig,
): CircuitBreakerConfig {
  const merged: Record<string, unknown> = { ...base, ...override };
  if (
    override.waitIntervalFunctionInOpenState !== undefined &&
    override.waitDurationInOpenState === undefined
  ) {
    delete merged.waitDurationInOpenState;
  }
  if (
    override.waitDurationInOpenState !== undefined &&
    override.waitIntervalFunctionInOpenState === undefined
  ) {
    delete merged.waitIntervalFunctionInOpenState;
  }
  if (override.halfOpenPolicy === 'rate' && override.successThresholdInHalfOpenState === undefined) {
    delete merged.successThresholdInHalfOpenState;
  }
  return merged as CircuitBreakerConfig;
}
