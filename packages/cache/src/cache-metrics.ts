import type { CacheTierErrorType } from './cache-events.js';

/**
 * What a cache counted since it was created (this process): read by `getMetrics()`, and by
 * `collectCacheMetrics` at scrape time, so that counting costs the call path an addition.
 */
export interface CacheMetrics {
  /** Gets answered by a fresh entry of the in-process tier. */
  readonly l1Hits: number;
  /** Gets the in-process tier could not answer (none, or not fresh). 0 without an L1. */
  readonly l1Misses: number;
  /** Reads the shared tier answered with a fresh entry. */
  readonly l2Hits: number;
  /** Reads the shared tier answered without a fresh entry (garbage included). */
  readonly l2Misses: number;
  /** Shared-tier operations its breaker refused (it was OPEN): the cache went on without waiting. */
  readonly l2NotPermitted: number;
  /** Shared-tier operations that failed, by why. */
  readonly l2Errors: Readonly<Record<CacheTierErrorType, number>>;
  /** Loaded values that did not reach the shared tier. */
  readonly writeBackFailures: number;
  /** Loader calls, and those that failed. */
  readonly loaderCalls: number;
  readonly loaderErrors: number;
  /** Answers given from a stale entry (grace). */
  readonly staleServed: number;
  /** Entries of the in-process tier now. */
  readonly l1Entries: number;
}

/** The mutable counters behind CacheMetrics. */
export class CacheCounters {
  l1Hits = 0;
  l1Misses = 0;
  l2Hits = 0;
  l2Misses = 0;
  l2NotPermitted = 0;
  readonly l2Errors: Record<CacheTierErrorType, number> = { timeout: 0, connection: 0, reply: 0, closed: 0 };
  writeBackFailures = 0;
  loaderCalls = 0;
  loaderErrors = 0;
  staleServed = 0;

  snapshot(l1Entries: number): CacheMetrics {
    return {
      l1Hits: this.l1Hits,
      l1Misses: this.l1Misses,
      l2Hits: this.l2Hits,
      l2Misses: this.l2Misses,
      l2NotPermitted: this.l2NotPermitted,
      l2Errors: { ...this.l2Errors },
      writeBackFailures: this.writeBackFailures,
      loaderCalls: this.loaderCalls,
      loaderErrors: this.loaderErrors,
      staleServed: this.staleServed,
      l1Entries,
    };
  }
}
