import type { Clock } from '@breakwater/core';
import type { FailureKind } from './call-outcome.js';
import type { CacheTransport, MemoryCache } from './memory-cache.js';
import type { Settings } from './options.js';
import type { Counts, Slice } from './status.js';

/** The cache events a lookup emits. */
export type CacheEvent = 'cacheHit' | 'cacheMiss' | 'coalesceCacheHit' | 'coalesceCacheMiss';

/** The count of the window each cache event adds to. */
const COUNTED: Readonly<Record<CacheEvent, keyof Counts>> = {
  cacheHit: 'cacheHits',
  cacheMiss: 'cacheMisses',
  coalesceCacheHit: 'coalesceCacheHits',
  coalesceCacheMiss: 'coalesceCacheMisses',
};

/** Counts `event` in `slice`, then tells it. */
function seen(event: CacheEvent, slice: Slice, tell: (event: CacheEvent) => void): void {
  slice.counts[COUNTED[event]]++;
  tell(event);
}

/**
 * opossum's cache (`cache`: the first successful result per key) and coalescing (`coalesce`: calls
 * with the same key share the call in flight), with their counts and events.
 */
export class CallCache {
  constructor(
    private readonly transport: CacheTransport | undefined,
    private readonly coalescing: MemoryCache | undefined,
    private readonly rules: Pick<Settings, 'cacheTTL' | 'coalesceTTL' | 'coalesceResetOn'>,
    private readonly clock: Clock,
  ) {}

  /** A cached result or a call in flight for `key` (undefined: none), counted in `slice` and told to `tell`. */
  find(key: string, slice: Slice, tell: (event: CacheEvent) => void): Promise<unknown> | undefined {
    const transport = this.transport;
    if (transport !== undefined) {
      const cached = transport.get(key);
      seen(cached ? 'cacheHit' : 'cacheMiss', slice, tell);
      if (cached) return Promise.resolve(cached);
    }
    const coalescing = this.coalescing;
    if (coalescing !== undefined) {
      const running = coalescing.get(key);
      seen(running ? 'coalesceCacheHit' : 'coalesceCacheMiss', slice, tell);
      if (running) return running as Promise<unknown>;
    }
    return undefined;
  }

  /** `call` is shared with the calls of the same key for `coalesceTTL`. */
  share(key: string, call: Promise<unknown>): void {
    const ttl = this.rules.coalesceTTL;
    this.coalescing?.set(key, call, ttl > 0 ? this.clock.now() + ttl : 0);
  }

  /** A call of `key` succeeded with `value`. */
  remember(key: string, value: unknown): void {
    const transport = this.transport;
    if (transport !== undefined) {
      const ttl = this.rules.cacheTTL;
      // As opossum: the transport gets a promise of the result, and the expiry as an epoch ms.
      transport.set(key, Promise.resolve(value), ttl > 0 ? this.clock.now() + ttl : 0);
    }
    if (this.rules.coalesceResetOn.has('success')) this.coalescing?.delete(key);
  }

  /** A call of `key` failed (or was refused: never shared on, whatever `coalesceResetOn` says). */
  forget(key: string, kind: FailureKind | 'refused'): void {
    const resetOn = this.rules.coalesceResetOn;
    const reset =
      kind === 'refused' || kind === 'semaphore' || resetOn.has(kind === 'timeout' ? 'timeout' : 'error');
    if (reset) this.coalescing?.delete(key);
  }

  clear(): void {
    this.transport?.flush();
    this.coalescing?.flush();
  }
}
