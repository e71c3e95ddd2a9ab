interface TimeLimiterEventBase {
  readonly kind: 'timelimiter';
  /** The time limiter's name. */
  readonly name: string;
  /** Epoch ms. */
  readonly at: number;
}

/** The call settled with a value in time. */
export interface TimeLimiterOnSuccessEvent extends TimeLimiterEventBase {
  readonly type: 'SUCCESS';
}

/** The call failed in time. */
export interface TimeLimiterOnErrorEvent extends TimeLimiterEventBase {
  readonly type: 'ERROR';
  readonly error: unknown;
}

/** The call did not settle within `timeoutMs` and was abandoned. */
export interface TimeLimiterOnTimeoutEvent extends TimeLimiterEventBase {
  readonly type: 'TIMEOUT';
  readonly timeoutMs: number;
}

export type TimeLimiterEvent =
  | TimeLimiterOnSuccessEvent
  | TimeLimiterOnErrorEvent
  | TimeLimiterOnTimeoutEvent;

export type TimeLimiterEventType = TimeLimiterEvent['type'];
