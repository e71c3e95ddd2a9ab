interface RetryEventBase {
  readonly kind: 'retry';
  /** The retry's name. */
  readonly name: string;
  /** Epoch ms. */
  readonly at: number;
}

/** An attempt failed (or its result asked for a retry) and another one follows after `waitMs`. */
export interface RetryOnRetryEvent extends RetryEventBase {
  readonly type: 'RETRY';
  /** The attempt that just failed, 1-based. */
  readonly attempt: number;
  readonly waitMs: number;
  /** `'error'`: the attempt threw `error`; `'result'`: `retryOnResult` rejected `result`. */
  readonly reason: 'error' | 'result';
  readonly error?: unknown;
  readonly result?: unknown;
}

/** A call succeeded after at least one retry (as in Resilience4j, a first-try success publishes nothing). */
export interface RetryOnSuccessEvent extends RetryEventBase {
  readonly type: 'SUCCESS';
  readonly attempts: number;
}

/**
 * A call used up `maxAttempts`: `error` is the last error, or a MaxRetriesExceededError when results
 * kept asking for a retry (whether or not `failAfterMaxAttempts` makes the call reject with it).
 * Also published, with a RetryIntervalError, when the interval function gave no usable wait.
 */
export interface RetryOnErrorEvent extends RetryEventBase {
  readonly type: 'ERROR';
  readonly attempts: number;
  readonly error: unknown;
}

/** An error that is not retried (`ignoreExceptions`, or not in `retryExceptions`) ended the call. */
export interface RetryOnIgnoredErrorEvent extends RetryEventBase {
  readonly type: 'IGNORED_ERROR';
  readonly attempts: number;
  readonly error: unknown;
}

export type RetryEvent =
  | RetryOnRetryEvent
  | RetryOnSuccessEvent
  | RetryOnErrorEvent
  | RetryOnIgnoredErrorEvent;

export type RetryEventType = RetryEvent['type'];
