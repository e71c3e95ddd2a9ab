import type { PolicyKind } from './types.js';

/** The policy an error is about. */
export interface PolicyRef {
  readonly kind: PolicyKind;
  /** Undefined when the name itself was rejected. */
  readonly name: string | undefined;
}

/**
 * Base class of every error Breakwater throws on purpose; `name` is stable across versions. Every
 * one says which policy it is about in `policyKind` and `policyName` (undefined for an error about
 * no one policy, such as a store's options).
 */
export class BreakwaterError extends Error {
  override name = 'BreakwaterError';
  /** The policy's name, e.g. `'payments'`. */
  readonly policyName: string | undefined;
  /** Which policy: `'circuitbreaker'`, `'retry'`, `'ratelimiter'`, `'timelimiter'` or `'bulkhead'`. */
  readonly policyKind: PolicyKind | undefined;

  constructor(message: string, policy?: PolicyRef, options?: ErrorOptions) {
    super(message, options);
    this.policyName = policy?.name;
    this.policyKind = policy?.kind;
  }
}

export interface ConfigErrorDetails {
  /** The option at fault, e.g. `slidingWindowSize`. */
  readonly field: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What is allowed, in words, e.g. `an integer >= 1`. */
  readonly allowed: string;
  /** The policy whose config or options were rejected, when there is one. */
  readonly policy?: PolicyRef;
}

/** A configuration was rejected at construction. */
export class ConfigError extends BreakwaterError {
  override name = 'ConfigError';
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;

  constructor(subject: string, details: ConfigErrorDetails) {
    super(
      `${subject}: '${details.field}' must be ${details.allowed}, got ${describeValue(details.value)}`,
      details.policy,
    );
    this.field = details.field;
    this.value = details.value;
    this.allowed = details.allowed;
  }
}

/** A circuit breaker refused the call (OPEN, FORCED_OPEN, or HALF_OPEN with no probe permit left). */
export class CallNotPermittedError extends BreakwaterError {
  override name = 'CallNotPermittedError';
  declare readonly policyName: string;
  declare readonly policyKind: 'circuitbreaker';
  constructor(
    readonly circuitBreakerName: string,
    readonly state: string,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' is ${state} and does not permit further calls`, {
      kind: 'circuitbreaker',
      name: circuitBreakerName,
    });
  }
}

/** Stands for a result that `recordResult` classified as a failure, in ERROR events. */
export class ResultRecordedAsFailureError extends BreakwaterError {
  override name = 'ResultRecordedAsFailureError';
  declare readonly policyName: string;
  declare readonly policyKind: 'circuitbreaker';
  constructor(
    readonly circuitBreakerName: string,
    readonly result: unknown,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' recorded a result as a failure`, {
      kind: 'circuitbreaker',
      name: circuitBreakerName,
    });
  }
}

/** A manual transition that Resilience4j does not allow, e.g. METRICS_ONLY -> OPEN. */
export class IllegalStateTransitionError extends BreakwaterError {
  override name = 'IllegalStateTransitionError';
  declare readonly policyName: string;
  declare readonly policyKind: 'circuitbreaker';
  constructor(
    readonly circuitBreakerName: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`CircuitBreaker '${circuitBreakerName}' cannot go from ${from} to ${to}`, {
      kind: 'circuitbreaker',
      name: circuitBreakerName,
    });
  }
}

/** A bulkhead had no free slot, and none came free within `maxWaitDuration`. */
export class BulkheadFullError extends BreakwaterError {
  override name = 'BulkheadFullError';
  declare readonly policyName: string;
  declare readonly policyKind: 'bulkhead';
  constructor(readonly bulkheadName: string) {
    super(`Bulkhead '${bulkheadName}' is full and does not permit further calls`, {
      kind: 'bulkhead',
      name: bulkheadName,
    });
  }
}

/** A rate limiter had no permit, and none would come free within `timeoutDuration`. */
export class RequestNotPermittedError extends BreakwaterError {
  override name = 'RequestNotPermittedError';
  declare readonly policyName: string;
  declare readonly policyKind: 'ratelimiter';
  constructor(
    readonly rateLimiterName: string,
    /** Milliseconds until the next permit is expected to be free. */
    readonly retryAfterMs: number,
  ) {
    super(
      `RateLimiter '${rateLimiterName}' does not permit further calls (next permit in ${retryAfterMs} ms)`,
      { kind: 'ratelimiter', name: rateLimiterName },
    );
  }
}

/** A time limiter's `timeoutDuration` elapsed before the call settled. */
export class TimeoutError extends BreakwaterError {
  override name = 'TimeoutError';
  declare readonly policyName: string;
  declare readonly policyKind: 'timelimiter';
  constructor(
    readonly timeLimiterName: string,
    readonly timeoutMs: number,
  ) {
    super(`TimeLimiter '${timeLimiterName}' recorded a timeout after ${timeoutMs} ms`, {
      kind: 'timelimiter',
      name: timeLimiterName,
    });
  }
}

/** Retry gave up after `maxAttempts` because the result kept asking for a retry. */
export class MaxRetriesExceededError extends BreakwaterError {
  override name = 'MaxRetriesExceededError';
  declare readonly policyName: string;
  declare readonly policyKind: 'retry';
  constructor(
    readonly retryName: string,
    readonly attempts: number,
    /** The last result that `retryOnResult` rejected. */
    readonly lastResult?: unknown,
  ) {
    super(`Retry '${retryName}' gave up after ${attempts} attempts`, { kind: 'retry', name: retryName });
  }
}

/** How a retried attempt ended: with an error, or with a result that `retryOnResult` rejected. */
export type RetriedFailure = { readonly error: unknown } | { readonly result: unknown };

/** What an interval function did instead of returning a usable wait. */
export type IntervalOutcome = { readonly returned: unknown } | { readonly threw: unknown };

/**
 * A retry's interval function gave no usable wait after a failed attempt: it returned Infinity,
 * NaN, a negative number or something not a number, or it threw. The call ends with this error
 * rather than retrying at once (a retry storm) or never. `cause` is the failed attempt's error.
 */
export class RetryIntervalError extends BreakwaterError {
  override name = 'RetryIntervalError';
  declare readonly policyName: string;
  declare readonly policyKind: 'retry';
  /** What `intervalFunction(attempt)` returned; undefined when it threw. */
  readonly interval: unknown;
  /** True when the interval function threw. */
  readonly threw: boolean;
  /** What the interval function threw; undefined when it returned. */
  readonly intervalError: unknown;
  /** The attempt's result, when the retry was for a result `retryOnResult` rejected (no `cause` then). */
  readonly lastResult: unknown;

  constructor(
    readonly retryName: string,
    /** The failed attempt (1-based) after which the wait was asked for. */
    readonly attempt: number,
    outcome: IntervalOutcome,
    failure: RetriedFailure,
  ) {
    const what =
      'threw' in outcome
        ? `threw ${describeThrown(outcome.threw)}`
        : `returned ${describeValue(outcome.returned)}, not a number of milliseconds >= 0`;
    super(
      `Retry '${retryName}': intervalFunction(${attempt}) ${what}; no further attempt`,
      { kind: 'retry', name: retryName },
      'error' in failure ? { cause: failure.error } : undefined,
    );
    this.threw = 'threw' in outcome;
    this.interval = 'returned' in outcome ? outcome.returned : undefined;
    this.intervalError = 'threw' in outcome ? outcome.threw : undefined;
    this.lastResult = 'result' in failure ? failure.result : undefined;
  }
}

function describeThrown(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array`;
  return 'an object';
}
