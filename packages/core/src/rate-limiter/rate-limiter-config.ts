import { policyConfigReader } from '../common/config-reader.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';

/**
 * `'fixed-window'`: Resilience4j's limiter, `limitForPeriod` permits per period aligned to the
 * epoch, so up to twice the limit can pass around a period boundary. `'gcra'`: the smooth limiter,
 * at most `limitForPeriod` in any window of `limitRefreshPeriod` wherever it starts.
 */
export type RateLimiterAlgorithm = 'fixed-window' | 'gcra';

/** What a user passes; every field is optional. Durations in ms. */
export interface RateLimiterConfig {
  /** Permits per period. Default 50. */
  readonly limitForPeriod?: number;
  /**
   * Length of a period in ms (an integer). Default 500. Resilience4j's default is 500 ns, which
   * is effectively no limit; 500 ms keeps its "50 per period" meaning a real one (100/s).
   */
  readonly limitRefreshPeriod?: number;
  /** Longest a caller may wait for a permit (ms); one that would wait longer is rejected at once. Default 5000. */
  readonly timeoutDuration?: number;
  /** Default `'fixed-window'`. */
  readonly algorithm?: RateLimiterAlgorithm;
}

/** A validated config with every default filled in; what engines and stores receive. */
export interface RateLimiterSettings {
  readonly algorithm: RateLimiterAlgorithm;
  readonly limitForPeriod: number;
  readonly limitRefreshPeriod: number;
  readonly timeoutDuration: number;
}

export const RATE_LIMITER_DEFAULTS: RateLimiterSettings = Object.freeze({
  algorithm: 'fixed-window',
  limitForPeriod: 50,
  limitRefreshPeriod: 500,
  timeoutDuration: 5_000,
});

/** Validates `config` once, at construction. Throws `ConfigError` naming the field, the value and what is allowed. */
export function resolveRateLimiterConfig(config: unknown, name?: string): RateLimiterSettings {
  const d = RATE_LIMITER_DEFAULTS;
  // Every option has a default: the defaults' keys are the known options.
  const r = policyConfigReader('ratelimiter', name, config, Object.keys(d));
  return Object.freeze({
    algorithm: r.oneOf('algorithm', d.algorithm, ['fixed-window', 'gcra']),
    limitForPeriod: r.integer('limitForPeriod', d.limitForPeriod, 1, 1_000_000_000),
    limitRefreshPeriod: r.integer('limitRefreshPeriod', d.limitRefreshPeriod, 1, MAX_TIMER_DELAY_MS),
    timeoutDuration: r.number('timeoutDuration', d.timeoutDuration, 0, MAX_TIMER_DELAY_MS),
  });
}
