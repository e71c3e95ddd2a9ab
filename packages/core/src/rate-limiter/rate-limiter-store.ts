/**
 * The store contract for rate limiters. A store hands out one engine per limiter instance;
 * engines of the same name on the same store share one state. Engines answer synchronously
 * in-process and with a promise when the state is remote (Redis).
 *
 * Every operation is one atomic step over a small serializable record (below), so a Redis
 * engine is one Lua script per operation with the same arithmetic, its clock taken from Redis.
 */

import type { MaybePromise } from '../common/types.js';
import type { RateLimiterAlgorithm, RateLimiterSettings } from './rate-limiter-config.js';

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

/** A store able to hold rate limiters. A store without this method gets in-process limiters. */
export interface RateLimiterStore {
  rateLimiter(name: string, settings: RateLimiterSettings): RateLimiterEngine;
}

/**
 * Fixed window (Resilience4j's AtomicRateLimiter): periods are aligned to the epoch,
 * `cycle = floor(now / limitRefreshPeriod)`. `permissions` is what is left in `cycle`; it goes
 * negative when waiters reserved permits of later cycles, and each new cycle adds
 * `limitForPeriod`, capped at `limitForPeriod` (unused permits do not carry over). Unlike
 * Resilience4j, a reservation lies wholly in one later cycle (never split across two, which
 * would let that cycle exceed its limit); room it skips over in a reserved cycle lapses.
 */
export interface FixedWindowState {
  readonly algorithm: 'fixed-window';
  cycle: number;
  permissions: number;
}

/**
 * GCRA with no burst tolerance: `tat` (theoretical arrival time, epoch ms) is when the next
 * single permit may go. A request for n permits goes at `max(now, tat + (n-1)·T)` and moves
 * `tat` to that time plus `n·T`, where `T = limitRefreshPeriod / limitForPeriod`. Requests are
 * thus spaced by their permits' worth of T on both sides, which keeps any window of length
 * `limitRefreshPeriod` at `limitForPeriod` permits at most (a burst tolerance would break that).
 */
export interface GcraState {
  readonly algorithm: 'gcra';
  tat: number;
}

export type RateLimiterState = FixedWindowState | GcraState;

/** The state of a limiter nobody has used yet, as of `now`. */
export function initialRateLimiterState(settings: RateLimiterSettings, now: number): RateLimiterState {
  if (settings.algorithm === 'gcra') return { algorithm: 'gcra', tat: now - settings.limitRefreshPeriod };
  return {
    algorithm: 'fixed-window',
    cycle: Math.floor(now / settings.limitRefreshPeriod),
    permissions: settings.limitForPeriod,
  };
}

export function cloneRateLimiterState(state: RateLimiterState): RateLimiterState {
  return { ...state };
}

/** Why `state` cannot be used (by a limiter with `settings`, when given), or undefined when it can. */
export function rateLimiterStateProblem(state: unknown, settings?: RateLimiterSettings): string | undefined {
  if (typeof state !== 'object' || state === null) return 'not an object';
  const s = state as Record<string, unknown>;
  const algorithm = s.algorithm as RateLimiterAlgorithm;
  if (algorithm !== 'fixed-window' && algorithm !== 'gcra') return `unknown algorithm ${String(algorithm)}`;
  if (settings !== undefined && settings.algorithm !== algorithm) {
    return `algorithm '${algorithm}' does not match the limiter's '${settings.algorithm}'`;
  }
  if (algorithm === 'gcra') return Number.isFinite(s.tat) ? undefined : 'tat is not a finite number';
  if (!Number.isInteger(s.cycle)) return 'cycle is not an integer';
  if (!Number.isFinite(s.permissions)) return 'permissions is not a finite number';
  if (settings !== undefined && (s.permissions as number) > settings.limitForPeriod) {
    return `permissions ${String(s.permissions)} exceed limitForPeriod ${settings.limitForPeriod}`;
  }
  return undefined;
}
