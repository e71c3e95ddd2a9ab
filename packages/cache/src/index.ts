/**
 * `@breakwater/cache`: a read-through cache whose shared tier (Redis) is guarded by a circuit
 * breaker and bounded by a timeout, so that a failing Redis never fails or slows a get.
 */
export { Cache, type Loader } from './cache.js';
export { CacheTierError, type CacheTierFailure } from './cache-errors.js';
export type * from './cache-events.js';
export type { CacheMetrics } from './cache-metrics.js';
export {
  CACHE_BREAKER_CONFIG,
  CACHE_DEFAULTS,
  type CacheOptions,
  type CacheSettings,
  type FleetLockOptions,
  type L1Options,
} from './cache-options.js';
export { RedisCacheStore, type RedisCacheStoreOptions } from './redis-cache-store.js';
export { JSON_SERIALIZER, type Serializer } from './serializer.js';
