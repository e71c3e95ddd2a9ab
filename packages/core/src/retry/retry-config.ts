import { type ErrorMatcher, policyConfigReader } from '../common/config-reader.js';
import { IntervalFunction } from './interval-function.js';

/** What a user passes; every field is optional and defaults as in Resilience4j. Durations in ms. */
export interface RetryConfig {
  /** Attempts in all, the first call included. Default 3. */
  readonly maxAttempts?: number;
  /** Fixed wait between attempts (ms). Default 500. Give this or `intervalFunction`, not both. */
  readonly waitDuration?: number;
  /** Wait after attempt n (1-based) failed, e.g. `IntervalFunction.ofExponentialBackoff(100, 2)`. */
  readonly intervalFunction?: IntervalFunction;
  /** Errors worth another attempt: classes or a predicate. Default: every error. */
  readonly retryExceptions?: ErrorMatcher;
  /** Errors never retried, rethrown at once (wins over `retryExceptions`). Default: none. */
  readonly ignoreExceptions?: ErrorMatcher;
  /** A result for which this returns true is retried like an error. Default: none. */
  readonly retryOnResult?: (result: unknown) => boolean;
  /**
   * When results still ask for a retry after the last attempt: false returns the last result,
   * true rejects with MaxRetriesExceededError. Default false.
   */
  readonly failAfterMaxAttempts?: boolean;
}

/** How a failed attempt is handled. */
export const RetryVerdict = Object.freeze({ Retry: 0, Ignore: 1 } as const);
export type RetryVerdict = (typeof RetryVerdict)[keyof typeof RetryVerdict];

/** A validated retry config with every default filled in. */
export interface RetrySettings {
  readonly maxAttempts: number;
  /** The fixed wait; meaningful only when no `intervalFunction` was given. */
  readonly waitDuration: number;
  /** The wait after attempt n failed; `IntervalFunction.of(waitDuration)` unless one was given. */
  readonly intervalFunction: IntervalFunction;
  readonly classifyError: (error: unknown) => RetryVerdict;
  readonly retryOnResult: ((result: unknown) => boolean) | undefined;
  readonly failAfterMaxAttempts: boolean;
}

export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  waitDuration: 500,
  failAfterMaxAttempts: false,
});

const KNOWN_KEYS: readonly (keyof RetryConfig)[] = [
  'maxAttempts',
  'waitDuration',
  'intervalFunction',
  'retryExceptions',
  'ignoreExceptions',
  'retryOnResult',
  'failAfterMaxAttempts',
];

/** Validates `config` once, at construction. Throws `ConfigError` naming the field, the value and what is allowed. */
export function resolveRetryConfig(config: unknown, name?: string): RetrySettings {
  const r = policyConfigReader('retry', name, config, KNOWN_KEYS);
  const d = RETRY_DEFAULTS;
  if (r.has('waitDuration') && r.has('intervalFunction')) {
    r.fail('intervalFunction', 'absent when waitDuration is given (give one of the two)');
  }
  const waitDuration = r.number('waitDuration', d.waitDuration, 0);
  const intervalFunction =
    r.func<IntervalFunction>('intervalFunction', undefined) ?? IntervalFunction.of(waitDuration);
  return Object.freeze({
    maxAttempts: r.integer('maxAttempts', d.maxAttempts, 1),
    waitDuration,
    intervalFunction,
    classifyError: retryClassifier(r.errorMatcher('retryExceptions'), r.errorMatcher('ignoreExceptions')),
    retryOnResult: r.func<(result: unknown) => boolean>('retryOnResult', undefined),
    failAfterMaxAttempts: r.boolean('failAfterMaxAttempts', d.failAfterMaxAttempts),
  });
}

/**
 * Lays `override` over `base` (registry named configs): giving one of waitDuration and
 * intervalFunction replaces the other, so that a named config can switch between them.
 */
export function mergeRetryConfig(base: RetryConfig, override: RetryConfig): RetryConfig {
  const merged: { -readonly [K in keyof RetryConfig]: RetryConfig[K] } = { ...base, ...override };
  if (override.intervalFunction !== undefined && override.waitDuration === undefined)
    delete merged.waitDuration;
  if (override.waitDuration !== undefined && override.intervalFunction === undefined)
    delete merged.intervalFunction;
  return merged;
}

function retryClassifier(
  isRetried: ((e: unknown) => boolean) | undefined,
  isIgnored: ((e: unknown) => boolean) | undefined,
): (error: unknown) => RetryVerdict {
  if (!isRetried && !isIgnored) return () => RetryVerdict.Retry;
  return (error) => {
    // A predicate that throws must not start a retry storm: the error is not retried.
    try {
      if (isIgnored?.(error)) return RetryVerdict.Ignore;
      return !isRetried || isRetried(error) ? RetryVerdict.Retry : RetryVerdict.Ignore;
    } catch {
      return RetryVerdict.Ignore;
    }
  };
}
