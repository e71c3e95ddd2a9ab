import { policyConfigReader } from '../common/config-reader.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';

/** What a user passes; every field is optional and defaults as in Resilience4j. Durations in ms. */
export interface TimeLimiterConfig {
  /** Longest a call may take (ms) before it is abandoned with a TimeoutError. Default 1000. */
  readonly timeoutDuration?: number;
  /** Abort the signal handed to the function when it times out. Default true. */
  readonly cancelRunningFuture?: boolean;
}

/** A validated time limiter config with every default filled in. */
export interface TimeLimiterSettings {
  readonly timeoutDuration: number;
  readonly cancelRunningFuture: boolean;
}

export const TIME_LIMITER_DEFAULTS = Object.freeze({
  timeoutDuration: 1000,
  cancelRunningFuture: true,
});

/** Validates `config` once, at construction. Throws `ConfigError` naming the field, the value and what is allowed. */
export function resolveTimeLimiterConfig(config: unknown, name?: string): TimeLimiterSettings {
  const d = TIME_LIMITER_DEFAULTS;
  // Every option has a default: the defaults' keys are the known options.
  const r = policyConfigReader('timelimiter', name, config, Object.keys(d));
  return Object.freeze({
    // A timer cannot hold more than ~24.8 days; Node would fire a longer one after 1 ms.
    timeoutDuration: r.number('timeoutDuration', d.timeoutDuration, 0, MAX_TIMER_DELAY_MS, true),
    cancelRunningFuture: r.boolean('cancelRunningFuture', d.cancelRunningFuture),
  });
}
