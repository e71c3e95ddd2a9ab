import type { MaybePromise } from '../common/types.js';

/**
 * What `withCache` needs of a cache: a read-through `get` that answers `key` from the cache, or
 * runs `loader` (with the signal of the call) and keeps its value. `Cache` from
 * `@breakwater/cache` has it; core knows nothing else of caches and does not depend on that
 * package.
 */
export interface ReadThroughCache<T> {
  readonly name: string;
  get(key: string, loader: (signal: AbortSignal) => MaybePromise<T>, signal?: AbortSignal): Promise<T>;
}
