/**
 * What the suites on a real Redis share: stores and caches made per test (each store on a client
 * of its own, as another process would have) and closed after it.
 */
import type { Cluster, Redis } from 'ioredis';
import { Cache } from './cache.js';
import type { CacheEvent } from './cache-events.js';
import type { CacheOptions } from './cache-options.js';
import { RedisCacheStore } from './redis-cache-store.js';

/** The shared tier's deadline in these suites. */
export const L2_TIMEOUT_MS = 50;
/** How late a get may answer beyond l2TimeoutMs on a loaded 2-core machine. */
export const MARGIN_MS = 150;

export function cacheFactory(cleanup: (() => unknown)[], newClient: () => Redis | Cluster) {
  let prefixes = 0;
  const newStore = (keyPrefix = `t${++prefixes}`, client = newClient()): RedisCacheStore => {
    const store = new RedisCacheStore({ client, keyPrefix });
    cleanup.push(() => client.disconnect());
    cleanup.push(() => store.close());
    return store;
  };
  const newCache = <T>(store: RedisCacheStore, options: Partial<CacheOptions<T>> = {}, name = 'users') => {
    const cache = Cache.of<T>(name, { ttlMs: 60_000, l2: store, l2TimeoutMs: L2_TIMEOUT_MS, ...options });
    cleanup.push(() => cache.close());
    return cache;
  };
  return { newStore, newCache };
}

/** Every event of `cache`, in order. */
export function recorder<T>(cache: Cache<T>): CacheEvent[] {
  const events: CacheEvent[] = [];
  cache.onEvent((e) => events.push(e));
  return events;
}
