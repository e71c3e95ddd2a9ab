/**
 * The events of a `Cache`, each with `kind: 'cache'`, the cache's `name`, `at` (epoch ms) and the
 * `key` it is about (`'*'` for `clear()`). Events are built only while someone listens to their
 * type (`onEvent` listens to all), so a hit costs no allocation when nobody does.
 */

import type { CacheTierFailure } from './cache-errors.js';

/** `l1`: the in-process tier; `l2`: the shared tier (Redis). */
export type CacheTier = 'l1' | 'l2';

/**
 * Why the shared tier failed an operation: the `reason` of its CacheTierError. Its breaker's
 * refusals are no error: they are counted apart (`l2NotPermitted`).
 */
export type CacheTierErrorType = CacheTierFailure;

/** What the shared tier was asked to do. */
export type CacheTierOperation = 'get' | 'set' | 'delete' | 'clear' | 'lock' | 'publish';

interface CacheEventBase {
  readonly kind: 'cache';
  readonly name: string;
  readonly at: number;
  readonly key: string;
}

/** A tier held a fresh entry. */
export interface CacheHitEvent extends CacheEventBase {
  readonly type: 'HIT';
  readonly tier: CacheTier;
}

/** A tier held no fresh entry (the shared tier: it answered without one). */
export interface CacheMissEvent extends CacheEventBase {
  readonly type: 'MISS';
  readonly tier: CacheTier;
}

/** A stale entry (within `graceMs`) answered because the loader failed or was slower than `softTimeoutMs`. */
export interface CacheStaleServedEvent extends CacheEventBase {
  readonly type: 'STALE_SERVED';
  readonly cause: 'loader_error' | 'loader_slow';
  /** How long the entry had been stale. */
  readonly staleForMs: number;
}

/** The loader returned a value. */
export interface CacheLoadedEvent extends CacheEventBase {
  readonly type: 'LOADED';
  readonly durationMs: number;
  /** A refresh nobody waited for (early refresh, or a load that went on after a soft timeout). */
  readonly background: boolean;
}

/** The loader failed. */
export interface CacheLoaderErrorEvent extends CacheEventBase {
  readonly type: 'LOADER_ERROR';
  readonly durationMs: number;
  readonly error: unknown;
  readonly background: boolean;
  /** A stale entry answered the callers instead of the error. */
  readonly staleServed: boolean;
}

/** The shared tier failed an operation other than a write-back (the cache went on without it). */
export interface CacheL2ErrorEvent extends CacheEventBase {
  readonly type: 'L2_ERROR';
  readonly operation: Exclude<CacheTierOperation, 'set'>;
  readonly errorType: CacheTierErrorType;
  readonly error: unknown;
}

/** A loaded value could not be written to the shared tier in time, or at all (the caller had its value). */
export interface CacheWriteBackFailedEvent extends CacheEventBase {
  readonly type: 'WRITE_BACK_FAILED';
  readonly errorType: CacheTierErrorType | 'serialize';
  readonly error: unknown;
}

/** The shared tier held something under the key that is not a readable entry: treated as a miss. */
export interface CacheEntryUnreadableEvent extends CacheEventBase {
  readonly type: 'ENTRY_UNREADABLE';
  readonly reason: string;
}

/** A value larger than `maxValueBytes` once serialized: returned to the callers, cached nowhere. */
export interface CacheValueTooLargeEvent extends CacheEventBase {
  readonly type: 'VALUE_TOO_LARGE';
  readonly bytes: number;
  readonly maxValueBytes: number;
}

export type CacheEvent =
  | CacheHitEvent
  | CacheMissEvent
  | CacheStaleServedEvent
  | CacheLoadedEvent
  | CacheLoaderErrorEvent
  | CacheL2ErrorEvent
  | CacheWriteBackFailedEvent
  | CacheEntryUnreadableEvent
  | CacheValueTooLargeEvent;

export type CacheEventType = CacheEvent['type'];
