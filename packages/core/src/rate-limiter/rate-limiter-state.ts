/**
 * A rate limiter's state: one small serializable record per algorithm, which every engine steps
 * with the same arithmetic (in process, or in Lua on Redis).
 */
import type { RateLimiterAlgorithm, RateLimiterSettings } from './rate-limiter-config.js';

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
