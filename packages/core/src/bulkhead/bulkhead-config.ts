import { policyConfigReader } from '../common/config-reader.js';
import { MAX_TIMER_DELAY_MS } from '../common/timers.js';

/** What a user passes; every field is optional. Durations in ms. */
export interface BulkheadConfig {
  /** Calls allowed to run at once (0 rejects every call). Default 25. */
  readonly maxConcurrentCalls?: number;
  /** Longest a caller waits in the queue for a slot (ms); 0 rejects at once when full. Default 0. */
  readonly maxWaitDuration?: number;
  /**
   * Callers allowed to wait at once; one more is rejected at once. Not in Resilience4j (whose
   * waiters are blocked threads): under overload an unbounded queue holds every arrival of the
   * last `maxWaitDuration` in memory. Default: unbounded.
   */
  readonly maxQueueSize?: number;
}

/** A validated config with every default filled in; what engines and stores receive. */
export interface BulkheadSettings {
  readonly maxConcurrentCalls: number;
  readonly maxWaitDuration: number;
  readonly maxQueueSize: number;
}

export const BULKHEAD_DEFAULTS: BulkheadSettings = Object.freeze({
  maxConcurrentCalls: 25,
  maxWaitDuration: 0,
  maxQueueSize: Number.POSITIVE_INFINITY,
});

/** Validates `config` once, at construction. Throws `ConfigError` naming the field, the value and what is allowed. */
export function resolveBulkheadConfig(config: unknown, name?: string): BulkheadSettings {
  const d = BULKHEAD_DEFAULTS;
  // Every option has a default: the defaults' keys are the known options.
  const r = policyConfigReader('bulkhead', name, config, Object.keys(d));
  return Object.freeze({
    maxConcurrentCalls: r.integer('maxConcurrentCalls', d.maxConcurrentCalls, 0, 1_000_000_000),
    maxWaitDuration: r.number('maxWaitDuration', d.maxWaitDuration, 0, MAX_TIMER_DELAY_MS),
    maxQueueSize: r.has('maxQueueSize') ? r.integer('maxQueueSize', 0, 0) : d.maxQueueSize,
  });
}
