/**
 * The two sliding windows of the circuit breaker, as plain serializable records with O(1)
 * operations: a ring of outcomes (COUNT_BASED) and a ring of per-second buckets
 * (TIME_BASED). Both keep running totals, so reading them never rescans.
 */

/** Outcome codes: bit 0 = failure, bit 1 = slow. */
export const OUTCOME_SUCCESS = 0;
export const OUTCOME_FAILURE = 1;
export const OUTCOME_SLOW = 2;
export type Outcome = 0 | 1 | 2 | 3;

interface Totals {
  /** Buffered calls. */
  calls: number;
  failures: number;
  /** Slow calls, successful or failed. */
  slow: number;
  slowFailures: number;
  /** Calls needed before rates are computed (below it they read -1). */
  minimumCalls: number;
}

export interface CountWindow extends Totals {
  type: 'COUNT';
  size: number;
  /** `size` outcome codes; slot `head` is written next. */
  ring: number[];
  head: number;
}

export interface TimeWindow extends Totals {
  type: 'TIME';
  /** Seconds covered. */
  size: number;
  /** Per-second buckets, indexed by epoch second modulo `size`. */
  bucketCalls: number[];
  bucketFailures: number[];
  bucketSlow: number[];
  bucketSlowFailures: number[];
  /** The epoch second of the newest bucket. */
  lastSecond: number;
}

export type SlidingWindow = CountWindow | TimeWindow;

export function createCountWindow(size: number, minimumCalls: number): CountWindow {
  return {
    type: 'COUNT',
    size,
    ring: new Array<number>(size).fill(0),
    head: 0,
    calls: 0,
    failures: 0,
    slow: 0,
    slowFailures: 0,
    minimumCalls,
  };
}

export function createTimeWindow(size: number, minimumCalls: number, nowMs: number): TimeWindow {
  return {
    type: 'TIME',
    size,
    bucketCalls: new Array<number>(size).fill(0),
    bucketFailures: new Array<number>(size).fill(0),
    bucketSlow: new Array<number>(size).fill(0),
    bucketSlowFailures: new Array<number>(size).fill(0),
    lastSecond: Math.floor(nowMs / 1000),
    calls: 0,
    failures: 0,
    slow: 0,
    slowFailures: 0,
    minimumCalls,
  };
}

/** Adds one outcome at `nowMs`, evicting what falls out of the window. */
export function recordOutcome(w: SlidingWindow, outcome: Outcome, nowMs: number): void {
  if (w.type === 'COUNT') recordInCountWindow(w, outcome);
  else recordInTimeWindow(w, outcome, nowMs);
}

function recordInCountWindow(w: CountWindow, outcome: Outcome): void {
  // A full ring of fast successes (the healthy steady state) stays the same ring after one more:
  // only where it starts would move, and no count or later eviction can tell.
  if (outcome === 0 && w.calls === w.size && w.failures === 0 && w.slow === 0) return;
  const head = w.head;
  if (w.calls === w.size) {
    const old = w.ring[head];
    if (old !== 0) {
      const oldFailure = old & OUTCOME_FAILURE;
      const oldSlow = old >> 1;
      w.failures -= oldFailure;
      w.slow -= oldSlow;
      w.slowFailures -= oldFailure & oldSlow;
    }
  } else {
    w.calls++;
  }
  w.ring[head] = outcome;
  w.head = head + 1 === w.size ? 0 : head + 1;
  if (outcome !== 0) {
    const failure = outcome & OUTCOME_FAILURE;
    const slow = outcome >> 1;
    w.failures += failure;
    w.slow += slow;
    w.slowFailures += failure & slow;
  }
}

function recordInTimeWindow(w: TimeWindow, outcome: Outcome, nowMs: number): void {
  advanceTimeWindow(w, nowMs);
  const i = w.lastSecond % w.size;
  w.bucketCalls[i]++;
  w.calls++;
  if (outcome !== 0) {
    if (outcome & OUTCOME_FAILURE) {
      w.bucketFailures[i]++;
      w.failures++;
    }
    if (outcome & OUTCOME_SLOW) {
      w.bucketSlow[i]++;
      w.slow++;
      if (outcome & OUTCOME_FAILURE) {
        w.bucketSlowFailures[i]++;
        w.slowFailures++;
      }
    }
  }
}

/**
 * Moves a time window to the second of `nowMs`, emptying the buckets that fell out: at most
 * `size` buckets however long the gap, so a long idle period costs one pass and no more.
 */
export function advanceTimeWindow(w: TimeWindow, nowMs: number): void {
  // Same second, or a clock that stepped back: keep the newest bucket (no division on this path).
  if (nowMs - w.lastSecond * 1000 < 1000) return;
  const second = Math.floor(nowMs / 1000);
  const elapsed = second - w.lastSecond;
  if (elapsed >= w.size) {
    w.bucketCalls.fill(0);
    w.bucketFailures.fill(0);
    w.bucketSlow.fill(0);
    w.bucketSlowFailures.fill(0);
    w.calls = 0;
    w.failures = 0;
    w.slow = 0;
    w.slowFailures = 0;
  } else {
    for (let s = w.lastSecond + 1; s <= second; s++) {
      const i = s % w.size;
      if (w.bucketCalls[i] !== 0) {
        w.calls -= w.bucketCalls[i];
        w.failures -= w.bucketFailures[i];
        w.slow -= w.bucketSlow[i];
        w.slowFailures -= w.bucketSlowFailures[i];
        w.bucketCalls[i] = 0;
        w.bucketFailures[i] = 0;
        w.bucketSlow[i] = 0;
        w.bucketSlowFailures[i] = 0;
      }
    }
  }
  w.lastSecond = second;
}

/**
 * The rate in percent of `part` among a window's `calls`, or -1 below its `minimumCalls` (or with
 * no calls): how every engine turns a window's counts into a rate.
 */
export function rateOfCalls(part: number, calls: number, minimumCalls: number): number {
  return calls === 0 || calls < minimumCalls ? -1 : (part * 100) / calls;
}

/** Failure rate in percent, or -1 below the window's minimum number of calls. */
export function failureRateOf(w: SlidingWindow): number {
  return rateOfCalls(w.failures, w.calls, w.minimumCalls);
}

/** Slow-call rate in percent, or -1 below the window's minimum number of calls. */
export function slowCallRateOf(w: SlidingWindow): number {
  return rateOfCalls(w.slow, w.calls, w.minimumCalls);
}
