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
    'attempts',
    'halfOpenAvailable',
    'consecutiveFailures',
    'notPermitted',
  ] as const) {
    if (!isCount(s[k])) return `'${k}' is not a non-negative integer`;
  }
  if (!Number.isFinite(s.since) || !Number.isFinite(s.openUntil))
    return "'since' or 'openUntil' is not a number";
  if (typeof s.exceededReported !== 'boolean') return "'exceededReported' is not a boolean";
  const problem = windowProblem(s.window);
  if (problem !== undefined) return problem;
  if (settings === undefined) return undefined;
  const w = s.window as SlidingWindow;
  const permitted = settings.permittedNumberOfCallsInHalfOpenState;
  // OPEN keeps whichever window tripped it; HALF_OPEN has its own; the rest use the configured one.
  if (s.state === 'HALF_OPEN') {
    if (w.type !== 'COUNT' || w.size !== permitted) return 'half-open window does not match the config';
    if ((s.halfOpenAvailable as number) + w.calls > permitted)
      return 'more half-open permits than the config allows';
  } else if (s.state !== 'OPEN' || !isHalfOpenWindow(w, settings)) {
    if (!isClosedWindow(w, settings)) return 'window does not match the config';
  }
  return undefined;
}

/**
 * Brings a valid state in line with `settings` where the two may legitimately differ (a restart
 * with another minimumNumberOfCalls): the minimum lives in the window for speed, the config is
 * the truth.
 */
export function alignBreakerState(s: BreakerState, settings: CircuitBreakerSettings): void {
  const w = s.window;
  w.minimumCalls =
    s.state === 'HALF_OPEN' ||
    (s.state === 'OPEN' && isHalfOpenWindow(w, settings) && !isClosedWindow(w, settings))
      ? settings.halfOpenMinimumCalls
      : settings.closedMinimumCalls;
}

function isClosedWindow(w: SlidingWindow, settings: CircuitBreakerSettings): boolean {
  const type = settings.slidingWindowType === 'COUNT_BASED' ? 'COUNT' : 'TIME';
  return w.type === type && w.size === settings.slidingWindowSize;
}

function isHalfOpenWindow(w: SlidingWindow, settings: CircuitBreakerSettings): boolean {
  return w.type === 'COUNT' && w.size === settings.permittedNumberOfCallsInHalfOpenState;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function windowProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'no window';
  const w = value as Partial<SlidingWindow> & Record<string, unknown>;
  if (!isCount(w.size) || w.size < 1) return 'window size is not a positive integer';
  for (const k of ['calls', 'failures', 'slow', 'slowFailures', 'minimumCalls'] as const) {
    if (!isCount(w[k])) return `window '${k}' is not a non-negative integer`;
  }
  const calls = w.calls as number;
  if ((w.failures as number) > calls || (w.slow as number) > calls) return 'window totals exceed its calls';
  if ((w.slowFailures as number) > Math.min(w.failures as number, w.slow as number))
    return 'window slow failures exceed failures or slow calls';
  const totals = { calls: 0, failures: 0, slow: 0, slowFailures: 0 };
  if (w.type === 'COUNT') {
    const ring = w.ring as unknown;
    if (!Array.isArray(ring) || ring.length !== w.size) return 'count window ring has the wrong length';
    if (calls > w.size) return 'count window holds more calls than its size';
    if (!isCount(w.head) || w.head >= w.size) return 'count window head is outside the ring';
    // The buffered calls are the `calls` slots before `head` (wrapping).
    for (let i = 1; i <= calls; i++) {
      const code = ring[(w.head - i + w.size) % w.size];
      if (code !== 0 && code !== 1 && code !== 2 && code !== 3)
        return 'count window ring holds an unknown outcome';
      totals.calls++;
      totals.failures += code & 1;
      totals.slow += code >> 1;
      totals.slowFailures += code === 3 ? 1 : 0;
    }
  } else if (w.type === 'TIME') {
    if (!Number.isSafeInteger(w.lastSecond)) return "time window 'lastSecond' is not an integer";
    const arrays = [w.bucketCalls, w.bucketFailures, w.bucketSlow, w.bucketSlowFailures] as unknown[];
    for (const a of arrays) {
      if (!Array.isArray(a) || a.length !== w.size || !a.every(isCount))
        return 'time window buckets are malformed';
    }
    for (let i = 0; i < w.size; i++) {
      totals.calls += (w.bucketCalls as number[])[i];
      totals.failures += (w.bucketFailures as number[])[i];
      totals.slow += (w.bucketSlow as number[])[i];
      totals.slowFailures += (w.bucketSlowFailures as number[])[i];
    }
  } else {
    return 'unknown window type';
  }
  if (
    totals.calls !== calls ||
    totals.failures !== w.failures ||
    totals.slow !== w.slow ||
    totals.slowFailures !== w.slowFailures
  ) {
    return 'window totals do not match its contents';
  }
  return undefined;
}
