import type { CircuitBreakerSettings } from './circuit-breaker-config.js';
import { createCountWindow, createTimeWindow, type SlidingWindow } from './sliding-window.js';

export const STATES = ['CLOSED', 'OPEN', 'HALF_OPEN', 'DISABLED', 'FORCED_OPEN', 'METRICS_ONLY'] as const;
export type CircuitBreakerStateName = (typeof STATES)[number];

/** The whole state of one breaker: a plain record, serializable as JSON, shared by every engine. */
export interface BreakerState {
  /** Format version, for snapshots and Redis. */
  v: 1;
  state: CircuitBreakerStateName;
  /** Bumped on every transition; a permit carries the generation that issued it, so late results are known. */
  generation: number;
  /** When the current state began (epoch ms). */
  since: number;
  /** OPEN: when the wait ends (epoch ms); otherwise 0. */
  openUntil: number;
  /** Consecutive openings, for `waitIntervalFunctionInOpenState`; 0 after CLOSED. */
  attempts: number;
  /** HALF_OPEN: probe permits not yet handed out. */
  halfOpenAvailable: number;
  /** Failures in a row while CLOSED. */
  consecutiveFailures: number;
  /** Calls refused since the window began. */
  notPermitted: number;
  /** METRICS_ONLY: set once a threshold was reported as exceeded. */
  exceededReported: boolean;
  window: SlidingWindow;
}

export function createClosedWindow(settings: CircuitBreakerSettings, nowMs: number): SlidingWindow {
  return settings.slidingWindowType === 'COUNT_BASED'
    ? createCountWindow(settings.slidingWindowSize, settings.closedMinimumCalls)
    : createTimeWindow(settings.slidingWindowSize, settings.closedMinimumCalls, nowMs);
}

export function createHalfOpenWindow(settings: CircuitBreakerSettings): SlidingWindow {
  return createCountWindow(settings.permittedNumberOfCallsInHalfOpenState, settings.halfOpenMinimumCalls);
}

export function initialBreakerState(settings: CircuitBreakerSettings, nowMs: number): BreakerState {
  return {
    v: 1,
    state: 'CLOSED',
    generation: 0,
    since: nowMs,
    openUntil: 0,
    attempts: 0,
    halfOpenAvailable: 0,
    consecutiveFailures: 0,
    notPermitted: 0,
    exceededReported: false,
    window: createClosedWindow(settings, nowMs),
  };
}

/** A deep copy, so the reference `step` stays pure. */
export function cloneBreakerState(s: BreakerState): BreakerState {
  const w = s.window;
  const window: SlidingWindow =
    w.type === 'COUNT'
      ? { ...w, ring: w.ring.slice() }
      : {
          ...w,
          bucketCalls: w.bucketCalls.slice(),
          bucketFailures: w.bucketFailures.slice(),
          bucketSlow: w.bucketSlow.slice(),
          bucketSlowFailures: w.bucketSlowFailures.slice(),
        };
  return { ...s, window };
}

/**
 * Checks that `value` is a well-formed state record that a breaker with `settings` can run on
 * (without `settings`, only the shape is checked): for restore and for anything read back from
 * outside. Returns the reason when it is not, undefined when it is.
 */
export function breakerStateProblem(value: unknown, settings?: CircuitBreakerSettings): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const s = value as Partial<BreakerState>;
  if (s.v !== 1) return `unknown format version ${String(s.v)}`;
  if (!STATES.includes(s.state as CircuitBreakerStateName)) return `unknown state ${String(s.state)}`;
  for (const k of [
    'generation',
    'since',
    'openUntil',
    'attempts',
    'halfOpenAvailable',
    'consecutiveFailures',
    'notPermitted',
  ] as const) {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) return `'${k}' is not a number`;
  }
  const w = s.window as SlidingWindow | undefined;
  if (!w || typeof w !== 'object') return 'no window';
  if (w.type === 'COUNT') {
    if (!Array.isArray(w.ring) || w.ring.length !== w.size) return 'count window ring has the wrong length';
    if (!(w.calls >= 0 && w.calls <= w.size)) return 'count window has a bad call count';
  } else if (w.type === 'TIME') {
    for (const a of [w.bucketCalls, w.bucketFailures, w.bucketSlow, w.bucketSlowFailures]) {
      if (!Array.isArray(a) || a.length !== w.size) return 'time window buckets have the wrong length';
    }
  } else {
    return 'unknown window type';
  }
  if (settings === undefined) return undefined;
  // OPEN keeps whichever window tripped it; HALF_OPEN has its own; the rest use the configured one.
  if (s.state === 'HALF_OPEN') {
    if (w.type !== 'COUNT' || w.size !== settings.permittedNumberOfCallsInHalfOpenState) {
      return 'half-open window does not match the config';
    }
  } else if (s.state !== 'OPEN') {
    const type = settings.slidingWindowType === 'COUNT_BASED' ? 'COUNT' : 'TIME';
    if (w.type !== type || w.size !== settings.slidingWindowSize) return 'window does not match the config';
  }
  return undefined;
}
