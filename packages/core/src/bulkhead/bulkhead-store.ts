/**
 * The store contract for bulkheads. A store hands out one engine per bulkhead instance; engines
 * of the same name on the same store share one set of slots. Engines answer synchronously
 * in-process and with a promise when the slots are remote.
 *
 * Designed so that a Redis engine fits: a slot is a lease (a member of a sorted set scored by its
 * expiry, renewed while the call runs and reclaimed when its process dies); `tryAcquire` is one
 * script that drops expired leases and adds one if there is room; `release` removes the lease and
 * publishes a notice; the engine turns such notices (and the earliest lease expiry it learned
 * from a FULL answer) into calls of its `SlotFreedListener`.
 */

import type { MaybePromise } from '../common/types.js';
import type { BulkheadSettings } from './bulkhead-config.js';

/** Returned by `tryAcquire` when every slot is taken. */
export const BULKHEAD_FULL = -1;

/**
 * Called when a slot may have come free. After a `tryAcquire` answered `BULKHEAD_FULL`, the
 * engine must call it at least once when a slot frees anywhere (or a lease is reclaimed);
 * spurious calls are allowed. The bulkhead then retries for the callers it has queued.
 */
export type SlotFreedListener = () => void;

export interface BulkheadEngine {
  /**
   * Takes a slot: a lease token (>= 0) to pass to `release`, or `BULKHEAD_FULL`. Tokens are the
   * engine's own business (the in-process engine always answers 0).
   */
  tryAcquire(now: number): MaybePromise<number>;
  /** Gives the slot of `lease` back; `now` is a recent clock reading (the policy does not read the clock again for it). */
  release(lease: number, now: number): MaybePromise<void>;
  /** Slots taken now, across everyone sharing the state. */
  read(now: number): MaybePromise<number>;
  /** Stops calling the listener and detaches from the store; the engine must not be used afterwards. */
  close(): void;
}

/** A store able to hold bulkheads; a bulkhead given a store without this method throws a ConfigError. */
export interface BulkheadStore {
  bulkhead(name: string, settings: BulkheadSettings, onSlotFreed: SlotFreedListener): BulkheadEngine;
}

/**
 * A bulkhead's shared state. Slots belong to running calls, so it is not worth persisting: a
 * restored process starts with `inUse: 0`.
 */
export interface BulkheadState {
  inUse: number;
}
