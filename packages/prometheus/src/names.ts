/**
 * Metric names. The policy metrics are named and labelled as Resilience4j's Micrometer binders
 * name them once exported to Prometheus, so dashboards and alerts written for Resilience4j work
 * unchanged; the store and cache metrics are Breakwater's own.
 */
export const METRIC_NAMES = {
  circuitBreakerState: 'resilience4j_circuitbreaker_state',
  circuitBreakerCalls: 'resilience4j_circuitbreaker_calls_seconds',
  circuitBreakerNotPermittedCalls: 'resilience4j_circuitbreaker_not_permitted_calls_total',
  circuitBreakerFailureRate: 'resilience4j_circuitbreaker_failure_rate',
  circuitBreakerSlowCallRate: 'resilience4j_circuitbreaker_slow_call_rate',
  circuitBreakerBufferedCalls: 'resilience4j_circuitbreaker_buffered_calls',
  circuitBreakerSlowCalls: 'resilience4j_circuitbreaker_slow_calls',
  retryCalls: 'resilience4j_retry_calls_total',
  rateLimiterAvailablePermissions: 'resilience4j_ratelimiter_available_permissions',
  rateLimiterWaitingThreads: 'resilience4j_ratelimiter_waiting_threads',
  bulkheadAvailableConcurrentCalls: 'resilience4j_bulkhead_available_concurrent_calls',
  bulkheadMaxAllowedConcurrentCalls: 'resilience4j_bulkhead_max_allowed_concurrent_calls',
  timeLimiterCalls: 'resilience4j_timelimiter_calls_total',
  storeOperationDuration: 'breakwater_store_operation_duration_seconds',
  storeErrors: 'breakwater_store_errors_total',
  storeGuardState: 'breakwater_store_guard_state',
  storeOutcomesDropped: 'breakwater_store_outcomes_dropped_total',
  cacheHits: 'breakwater_cache_hits_total',
  cacheMisses: 'breakwater_cache_misses_total',
  cacheLoaderDuration: 'breakwater_cache_loader_duration_seconds',
  cacheStaleServed: 'breakwater_cache_stale_served_total',
  cacheL2Errors: 'breakwater_cache_l2_errors_total',
  cacheL2NotPermitted: 'breakwater_cache_l2_not_permitted_total',
  cacheWriteBackFailures: 'breakwater_cache_write_back_failures_total',
  cacheEntries: 'breakwater_cache_entries',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** The `state` label values of `resilience4j_circuitbreaker_state` (Resilience4j lower-cases the state names). */
export const BREAKER_STATE_LABELS = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half_open',
  DISABLED: 'disabled',
  FORCED_OPEN: 'forced_open',
  METRICS_ONLY: 'metrics_only',
} as const;

/** Seconds. From 1 ms to a minute: protected calls range from a cache hit to a slow batch job. */
export const DEFAULT_CALL_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Seconds. From 100 µs to 1 s: a store round trip on loopback is ~0.1 ms, its default timeout 100 ms. */
export const DEFAULT_STORE_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
