export {
  type CacheMetricsReading,
  type CollectCacheMetricsOptions,
  collectCacheMetrics,
  type ObservableCache,
} from './cache-metrics.js';
export {
  type CollectMetricsOptions,
  collectMetrics,
  type MetricsHandle,
  type MetricsSource,
  type PolicyRegistrySource,
} from './collect-metrics.js';
export { type MetricsHandlerOptions, metricsHandler } from './metrics-handler.js';
export {
  BREAKER_STATE_LABELS,
  DEFAULT_CALL_BUCKETS,
  DEFAULT_STORE_BUCKETS,
  METRIC_NAMES,
  type MetricName,
} from './names.js';
export type { Policy } from './policy-metrics.js';
export {
  type CollectStoreMetricsOptions,
  collectStoreMetrics,
  errorTypeOf,
  type ObservableStore,
  type StoreErrorType,
  type StoreOperationEvent,
} from './store-metrics.js';
