/** Base class of every error Breakwater throws on purpose; `name` is stable across versions. */
export class BreakwaterError extends Error {
  override name = 'BreakwaterError';
}

export interface ConfigErrorDetails {
  /** The option at fault, e.g. `slidingWindowSize`. */
  readonly field: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What is allowed, in words, e.g. `an integer >= 1`. */
  readonly allowed: string;
}

/** A configuration was rejected at construction. */
export class ConfigError extends BreakwaterError {
  override name = 'ConfigError';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(subject: string, details: ConfigErrorDetails) {
    super(`${subject}: '${details.field}' must be ${details.allowed}, got ${describeValue(details.value)}`);
    this.field = details.field;
    this.value = details.value;
    this.allowed = details.allowed;
  }
}

/** A circuit breaker refused the call (OPEN, FORCED_OPEN, or HALF_OPEN with no probe permit left). */
export class CallNotPermittedError extends BreakwaterError {
  override name = 'CallNotPermittedError';
  constructor(
    readonly circuitBreakerName: string,
    readonly state: string,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' is ${state} and does not permit further calls`);
  }
}

/** Stands for a result that `recordResult` classified as a failure, in ERROR events. */
export class ResultRecordedAsFailureError extends BreakwaterError {
  override name = 'ResultRecordedAsFailureError';
  constructor(
    readonly circuitBreakerName: string,
    readonly result: unknown,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' recorded a result as a failure`);
  }
}

/** A manual transition that Resilience4j does not allow, e.g. METRICS_ONLY -> OPEN. */
export class IllegalStateTransitionError extends BreakwaterError {
  override name = 'IllegalStateTransitionError';
  constructor(
    readonly circuitBreakerName: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' cannot go from ${from} to ${to}`);
  }
}

/** A bulkhead had no free slot, and none came free within `maxWaitDuration`. */
export class BulkheadFullError extends BreakwaterError {
  override name = 'BulkheadFullError';
  constructor(readonly bulkheadName: string) {
    super(`Bulkhead '${bulkheadName}' is full and does not permit further calls`);
  }
}

/** A rate limiter had no permit, and none would come free within `timeoutDuration`. */
export class RequestNotPermittedError extends BreakwaterError {
  override name = 'RequestNotPermittedError';
  constructor(
    readonly rateLimiterName: string,
    /** Milliseconds until the next permit is expected to be free. */
    readonly retryAfterMs: number,
  ) {
    super(
      `RateLimiter '${rateLimiterName}' does not permit further calls (next permit in ${retryAfterMs} ms)`,
    );
  }
}

/** A time limiter's `timeoutDuration` elapsed before the call settled. */
export class TimeoutError extends BreakwaterError {
  override name = 'TimeoutError';
  constructor(
    readonly timeLimiterName: string,
    readonly timeoutMs: number,
  ) {
    super(`TimeLimiter '${timeLimiterName}' recorded a timeout after ${timeoutMs} ms`);
  }
}

/** Retry gave up after `maxAttempts` because the result kept asking for a retry. */
export class MaxRetriesExceededError extends BreakwaterError {
  override name = 'MaxRetriesExceededError';
  constructor(
    readonly retryName: string,
    readonly attempts: number,
    /** The last result that `retryOnResult` rejected. */
    readonly lastResult?: unknown,
  ) {
    super(`Retry '${retryName}' gave up after ${attempts} attempts`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array`;
  return 'an object';
}
