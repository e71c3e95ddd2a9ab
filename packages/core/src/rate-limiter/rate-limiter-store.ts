/**
 * The store contract for rate limiters. A store hands out one engine per limiter instance;
 * engines of the same name on the same store share one state. Engines answer synchronously
 * in-process and with a promise when the state is remote (Redis).
 *
 * Every operation is one atomic step over a small serializable record (rate-limiter-state.ts), so
 * a Redis engine is one Lua script per operation with the same arithmetic, its clock taken from
 * Redis.
 */

import type { MaybePromise } from '../common/types.js';
import type { RateLimiterSettings } from './rate-limiter-config.js';

/**
 * One limiter's view of its state. Times are the caller's clock readings (epoch ms); a store
 * with its own clock may ignore them, since every answer is a duration, not a time.
 */
export interface RateLimiterEngine {
  /**
   * Asks for `permits` (1 <= permits <= limitForPeriod) now.
   * - `>= 0`: granted; the permits are reserved and the caller may go after this many ms
   *   (0 = at once). A wait is only granted when it is `<= timeoutMs`.
   * - `< 0`: rejected, nothing reserved; `-result` ms (always >= 1) is the wait it would have
   *   needed, i.e. when to retry.
   */
  acquire(permits: number, now: number, timeoutMs: number): MaybePromise<number>;
  /**
   * Gives back a reservation that will not be used (its caller aborted while waiting);
   * `remainingMs` is how long it still had to wait. Best effort: the engine returns the permits
   * when that cannot over-admit, and otherwise lets them lapse (they never leak for longer).
   */
  release(permits: number, remainingMs: number, now: number): MaybePromise<void>;
  /** Takes every permit that is free now; resolves to how many that was. */
  drain(now: number): MaybePromise<number>;
  /** Permits a caller could take now without waiting; negative when waiters hold reservations. */
  read(now: number): MaybePromise<number>;
  /** Detaches from the store; the engine must not be used afterwards. */
  close(): void;
}

/** A store able to hold rate limiters; a limiter given a store without this method throws a ConfigError. */
export interface RateLimiterStore {
  rateLimiter(name: string, settings: RateLimiterSettings): RateLimiterEngine;
}
