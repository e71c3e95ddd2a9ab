interface RateLimiterEventBase {
  readonly kind: 'ratelimiter';
  /** The limiter's name. */
  readonly name: string;
  /** Epoch ms. */
  readonly at: number;
  readonly permits: number;
}

/** Permits were granted; published when the caller goes (after its wait, if it had one). */
export interface RateLimiterSuccessfulAcquireEvent extends RateLimiterEventBase {
  readonly type: 'SUCCESSFUL_ACQUIRE';
  /** How long the caller waited for them (ms). */
  readonly waitMs: number;
}

/** Permits were refused (`'NO_PERMIT'`), or the caller aborted while waiting for them (`'ABORTED'`). */
export interface RateLimiterFailedAcquireEvent extends RateLimiterEventBase {
  readonly type: 'FAILED_ACQUIRE';
  readonly reason: 'NO_PERMIT' | 'ABORTED';
  /** With `'NO_PERMIT'`: ms until the permits would have been free; 0 with `'ABORTED'`. */
  readonly retryAfterMs: number;
}

export type RateLimiterEvent = RateLimiterSuccessfulAcquireEvent | RateLimiterFailedAcquireEvent;

export type RateLimiterEventType = RateLimiterEvent['type'];
