/**
 * The reference state machine of the circuit breaker. Every engine (in-process, Redis/Lua)
 * must behave exactly like these functions; `test/conformance` holds them to it.
 *
 * The `*In` functions work in place on a state record (the in-process hot path must not
 * allocate); `step` wraps them as the pure function the design describes.
 */
import type { CircuitBreakerSettings } from './circuit-breaker-config.js';
import {
  type BreakerState,
  type CircuitBreakerStateName,
  cloneBreakerState,
  createClosedWindow,
  createHalfOpenWindow,
} from './circuit-breaker-state.js';
import {
  advanceTimeWindow,
  failureRateOf,
  OUTCOME_FAILURE,
  type Outcome,
  recordOutcome,
  type SlidingWindow,
  slowCallRateOf,
} from './sliding-window.js';

/** Returned by `acquire` when the call is refused; the code says which state refused it. */
export const DENIED_OPEN = -1;
export const DENIED_HALF_OPEN = -2;
export const DENIED_FORCED_OPEN = -3;
/** A permit token for results reported through the manual API: counts against the current state. */
export const CURRENT_PERMIT = -1;
/**
 * A permit for outcomes a store decided without ever having read the shared state (its fallback
 * engine, before its first answer): they count for whatever CLOSED period is current, and for
 * nothing in any other state. `carryTripIn` takes it as a generation the same way.
 */
export const CLOSED_PERIOD_PERMIT = -2;

export function deniedState(code: number): CircuitBreakerStateName {
  return code === DENIED_HALF_OPEN ? 'HALF_OPEN' : code === DENIED_FORCED_OPEN ? 'FORCED_OPEN' : 'OPEN';
}

export type TransitionReason =
  | 'FAILURE_RATE'
  | 'SLOW_CALL_RATE'
  | 'FAILURE_COUNT'
  | 'CONSECUTIVE_FAILURES'
  | 'HALF_OPEN_PASSED'
  | 'HALF_OPEN_FAILURE'
  | 'WAIT_ELAPSED'
  | 'HALF_OPEN_TIMEOUT'
  | 'MANUAL'
  | 'RESET';

export interface BreakerTransition {
  readonly from: CircuitBreakerStateName;
  readonly to: CircuitBreakerStateName;
  /** When it took effect (epoch ms): for lazily evaluated timeouts, the moment it was due. */
  readonly at: number;
  readonly reason: TransitionReason;
  /** The rates of the window that decided it (-1 below the minimum). */
  readonly failureRate: number;
  readonly slowCallRate: number;
  /** When the new state's own timeout falls due (OPEN wait, HALF_OPEN max wait), or 0. */
  readonly until: number;
}

export interface ThresholdExceeded {
  readonly type: 'FAILURE_RATE_EXCEEDED' | 'SLOW_CALL_RATE_EXCEEDED';
  readonly at: number;
  readonly rate: number;
}

/** What an operation produced besides its decision; reused between calls by the engines. */
export interface StepEffects {
  transitions: BreakerTransition[];
  exceeded: ThresholdExceeded[];
  reset: boolean;
}

export function createEffects(): StepEffects {
  return { transitions: [], exceeded: [], reset: false };
}

export function hasEffects(e: StepEffects): boolean {
  return e.transitions.length !== 0 || e.exceeded.length !== 0 || e.reset;
}

export function clearEffects(e: StepEffects): void {
  if (e.transitions.length !== 0) e.transitions = [];
  if (e.exceeded.length !== 0) e.exceeded = [];
  e.reset = false;
}

/** Manual transitions Resilience4j allows (a transition to the current state is a no-op). */
const LEGAL: Readonly<Record<CircuitBreakerStateName, readonly CircuitBreakerStateName[]>> = {
  CLOSED: ['OPEN', 'DISABLED', 'METRICS_ONLY', 'FORCED_OPEN'],
  HALF_OPEN: ['CLOSED', 'OPEN', 'DISABLED', 'METRICS_ONLY', 'FORCED_OPEN'],
  OPEN: ['CLOSED', 'HALF_OPEN', 'DISABLED', 'METRICS_ONLY', 'FORCED_OPEN'],
  FORCED_OPEN: ['CLOSED', 'OPEN', 'DISABLED', 'METRICS_ONLY', 'HALF_OPEN'],
  DISABLED: ['CLOSED', 'OPEN', 'FORCED_OPEN', 'HALF_OPEN', 'METRICS_ONLY'],
  METRICS_ONLY: ['CLOSED', 'FORCED_OPEN', 'DISABLED'],
};

export function isLegalTransition(from: CircuitBreakerStateName, to: CircuitBreakerStateName): boolean {
  return from === to || LEGAL[from].includes(to);
}

// ---------------------------------------------------------------- time-driven transitions

/** Applies the transitions that fell due by `now`, each at the moment it was due. */
export function tickIn(s: BreakerState, c: CircuitBreakerSettings, now: number, fx: StepEffects): void {
  // Each pass moves time forward by at least 1 ms; the bound only guards against pathological configs.
  for (let guard = 0; guard < 10_000; guard++) {
    if (s.state === 'OPEN') {
      if (!c.automaticTransitionFromOpenToHalfOpenEnabled || now < s.openUntil) return;
      enterHalfOpen(s, c, s.openUntil, 'WAIT_ELAPSED', fx);
    } else if (s.state === 'HALF_OPEN') {
      const maxWait = c.maxWaitDurationInHalfOpenState;
      if (maxWait <= 0 || now < s.since + maxWait) return;
      const due = s.since + maxWait;
      if (c.transitionToStateAfterWaitDuration === 'OPEN') enterOpen(s, c, due, 'HALF_OPEN_TIMEOUT', fx);
      else enterClosed(s, c, due, 'HALF_OPEN_TIMEOUT', fx);
    } else {
      return;
    }
  }
}

// ---------------------------------------------------------------- operations

/** Asks for a permit. Returns the permit (the generation, >= 0) or a DENIED_* code. */
export function acquireIn(s: BreakerState, c: CircuitBreakerSettings, now: number, fx: StepEffects): number {
  if (s.state === 'CLOSED' || s.state === 'DISABLED' || s.state === 'METRICS_ONLY') return s.generation;
  tickIn(s, c, now, fx);
  switch (s.state) {
    case 'OPEN':
      if (now < s.openUntil) {
        s.notPermitted++;
        return DENIED_OPEN;
      }
      enterHalfOpen(s, c, now, 'WAIT_ELAPSED', fx);
      return takeHalfOpenPermit(s);
    case 'HALF_OPEN':
      return takeHalfOpenPermit(s);
    case 'FORCED_OPEN':
      s.notPermitted++;
      return DENIED_FORCED_OPEN;
    default:
      // CLOSED after a half-open timeout that led to CLOSED.
      return s.generation;
  }
}

/**
 * True when `permit` (or a trip's generation) belongs to the state's current period: it is the
 * period's generation, or `CLOSED_PERIOD_PERMIT` while the breaker is CLOSED. Anything else is
 * from a period that has ended, and changes nothing.
 */
function ofCurrentPeriod(s: BreakerState, permit: number): boolean {
  return permit === s.generation || (permit === CLOSED_PERIOD_PERMIT && s.state === 'CLOSED');
}

function takeHalfOpenPermit(s: BreakerState): number {
  if (s.halfOpenAvailable > 0) {
    s.halfOpenAvailable--;
    return s.generation;
  }
  s.notPermitted++;
  return DENIED_HALF_OPEN;
}

/**
 * Records a call's outcome. A permit from an earlier generation (a late result) changes
 * nothing: the window it belonged to is gone, and the current one must not be corrupted.
 * Returns true when the outcome was recorded.
 */
export function recordIn(
  s: BreakerState,
  c: CircuitBreakerSettings,
  permit: number,
  outcome: Outcome,
  now: number,
  fx: StepEffects,
): boolean {
  if (s.state === 'CLOSED') {
    if (permit !== CURRENT_PERMIT && !ofCurrentPeriod(s, permit)) return false;
    const w = s.window;
    const before = w.calls;
    recordOutcome(w, outcome, now);
    if (outcome & OUTCOME_FAILURE) s.consecutiveFailures++;
    else s.consecutiveFailures = 0;
    // After every record CLOSED is below all thresholds, so a plain success in a count window
    // can only trip the breaker when it brings the window up to its minimum (rates then count
    // for the first time). Time windows expire buckets, which can raise a rate: always check.
    if (outcome !== 0 || w.type === 'TIME' || (before < w.minimumCalls && w.calls >= w.minimumCalls)) {
      evaluateClosed(s, c, now, fx);
    }
    return true;
  }
  return recordInOtherState(s, c, permit, outcome, now, fx);
}

function recordInOtherState(
  s: BreakerState,
  c: CircuitBreakerSettings,
  permit: number,
  outcome: Outcome,
  now: number,
  fx: StepEffects,
): boolean {
  tickIn(s, c, now, fx);
  if (permit !== CURRENT_PERMIT && !ofCurrentPeriod(s, permit)) return false;
  switch (s.state) {
    case 'CLOSED':
      // A half-open timeout just led to CLOSED.
      return recordIn(s, c, permit, outcome, now, fx);
    case 'HALF_OPEN':
      recordOutcome(s.window, outcome, now);
      evaluateHalfOpen(s, c, outcome, now, fx);
      return true;
    case 'METRICS_ONLY':
      recordOutcome(s.window, outcome, now);
      if (!s.exceededReported) {
        const fr = failureRateOf(s.window);
        const sr = slowCallRateOf(s.window);
        if (reportExceeded(s.window, c, fr, sr, now, fx)) s.exceededReported = true;
      }
      return true;
    case 'OPEN':
      // Only the manual API reaches here (a permit's generation ended when the breaker opened).
      recordOutcome(s.window, outcome, now);
      return true;
    default:
      // DISABLED and FORCED_OPEN record nothing.
      return false;
  }
}

/** Returns a permit unused (the call was ignored or abandoned): a half-open probe slot comes back. */
export function releaseIn(
  s: BreakerState,
  c: CircuitBreakerSettings,
  permit: number,
  now: number,
  fx: StepEffects,
): void {
  if (s.state !== 'CLOSED') tickIn(s, c, now, fx);
  if (permit !== CURRENT_PERMIT && !ofCurrentPeriod(s, permit)) return;
  if (s.state === 'HALF_OPEN' && s.halfOpenAvailable < c.permittedNumberOfCallsInHalfOpenState) {
    s.halfOpenAvailable++;
  }
}

/** The reasons a breaker opens by itself, which a store may carry over from a fallback engine. */
export type TripReason = 'FAILURE_RATE' | 'SLOW_CALL_RATE' | 'FAILURE_COUNT' | 'CONSECUTIVE_FAILURES';

/**
 * Opens the breaker for a trip decided elsewhere (by a store's in-process fallback while the
 * shared state could not be reached), if the state is still the CLOSED period the trip was
 * decided in: `generation` is the one that period had (`CLOSED_PERIOD_PERMIT`: whichever CLOSED
 * period is current, for a process that never read the shared state). Anything that happened since (another
 * trip, a manual transition, a reset) makes it stale, and it changes nothing. Returns true when
 * the breaker opened.
 */
export function carryTripIn(
  s: BreakerState,
  c: CircuitBreakerSettings,
  generation: number,
  reason: TripReason,
  now: number,
  fx: StepEffects,
): boolean {
  if (s.state !== 'CLOSED' || !ofCurrentPeriod(s, generation)) return false;
  enterOpen(s, c, now, reason, fx);
  return true;
}

export type ManualTarget = CircuitBreakerStateName | 'RESET';

/**
 * A manual transition. Returns false (and changes nothing) when Resilience4j forbids it;
 * a transition to the current state changes nothing. `RESET` always starts afresh in CLOSED.
 */
export function transitionIn(
  s: BreakerState,
  c: CircuitBreakerSettings,
  target: ManualTarget,
  now: number,
  fx: StepEffects,
): boolean {
  tickIn(s, c, now, fx);
  if (target === 'RESET') {
    if (s.state !== 'CLOSED') {
      enterClosed(s, c, now, 'RESET', fx);
    } else {
      // Not a transition, but a new start all the same: calls admitted before it are late.
      freshClosed(s, c, now);
      s.generation++;
      s.since = now;
    }
    fx.reset = true;
    return true;
  }
  if (!isLegalTransition(s.state, target)) return false;
  if (target === s.state) return true;
  switch (target) {
    case 'OPEN':
      enterOpen(s, c, now, 'MANUAL', fx);
      break;
    case 'HALF_OPEN':
      enterHalfOpen(s, c, now, 'MANUAL', fx);
      break;
    case 'CLOSED':
      enterClosed(s, c, now, 'MANUAL', fx);
      break;
    default:
      enterPassive(s, c, target, now, fx);
  }
  return true;
}

/** Brings a TIME_BASED window up to `now` so that reads see decayed rates. */
export function refreshIn(s: BreakerState, c: CircuitBreakerSettings, now: number, fx: StepEffects): void {
  tickIn(s, c, now, fx);
  if (s.window.type === 'TIME') advanceTimeWindow(s.window, now);
}

// ---------------------------------------------------------------- evaluation

function evaluateClosed(s: BreakerState, c: CircuitBreakerSettings, now: number, fx: StepEffects): void {
  const w = s.window;
  if (w.calls >= w.minimumCalls && w.calls > 0 && (failureRateExceeded(w, c) || slowCallRateExceeded(w, c))) {
    reportExceeded(w, c, failureRateOf(w), slowCallRateOf(w), now, fx);
    enterOpen(s, c, now, failureRateExceeded(w, c) ? 'FAILURE_RATE' : 'SLOW_CALL_RATE', fx);
    return;
  }
  if (c.failureCountThreshold > 0 && w.failures >= c.failureCountThreshold) {
    enterOpen(s, c, now, 'FAILURE_COUNT', fx);
  } else if (c.consecutiveFailureThreshold > 0 && s.consecutiveFailures >= c.consecutiveFailureThreshold) {
    enterOpen(s, c, now, 'CONSECUTIVE_FAILURES', fx);
  }
}

function evaluateHalfOpen(
  s: BreakerState,
  c: CircuitBreakerSettings,
  outcome: Outcome,
  now: number,
  fx: StepEffects,
): void {
  const w = s.window;
  if (c.halfOpenPolicy === 'successes') {
    if (outcome & OUTCOME_FAILURE) enterOpen(s, c, now, 'HALF_OPEN_FAILURE', fx);
    else if (w.calls - w.failures >= c.successThresholdInHalfOpenState)
      enterClosed(s, c, now, 'HALF_OPEN_PASSED', fx);
    return;
  }
  if (w.calls < w.minimumCalls) return;
  if (reportExceeded(w, c, failureRateOf(w), slowCallRateOf(w), now, fx)) {
    enterOpen(s, c, now, failureRateExceeded(w, c) ? 'FAILURE_RATE' : 'SLOW_CALL_RATE', fx);
  } else {
    enterClosed(s, c, now, 'HALF_OPEN_PASSED', fx);
  }
}

// Compared as products so that a rate exactly at the threshold trips without rounding surprises.
function failureRateExceeded(w: SlidingWindow, c: CircuitBreakerSettings): boolean {
  return w.failures * 100 >= c.failureRateThreshold * w.calls;
}

function slowCallRateExceeded(w: SlidingWindow, c: CircuitBreakerSettings): boolean {
  return w.slow * 100 >= c.slowCallRateThreshold * w.calls;
}

/** Adds the exceeded-threshold effects of a window at or over its minimum; true when any was exceeded. */
function reportExceeded(
  w: SlidingWindow,
  c: CircuitBreakerSettings,
  failureRate: number,
  slowCallRate: number,
  now: number,
  fx: StepEffects,
): boolean {
  if (w.calls === 0 || w.calls < w.minimumCalls) return false;
  const failing = failureRateExceeded(w, c);
  const slow = slowCallRateExceeded(w, c);
  if (failing) fx.exceeded.push({ type: 'FAILURE_RATE_EXCEEDED', at: now, rate: failureRate });
  if (slow) fx.exceeded.push({ type: 'SLOW_CALL_RATE_EXCEEDED', at: now, rate: slowCallRate });
  return failing || slow;
}

// ---------------------------------------------------------------- entering states

/** Openings that preceded this one count towards the next wait; CLOSED, DISABLED and METRICS_ONLY have none. */
function attemptsSoFar(s: BreakerState): number {
  return s.state === 'OPEN' || s.state === 'HALF_OPEN' || s.state === 'FORCED_OPEN' ? s.attempts : 0;
}

/**
 * Moves the breaker to `to` at `at` as one transition: a new generation, published with the rates
 * of `decided` (the window that decided it) and `until` (when the new state's wait ends, or 0).
 * The caller sets the new state's fields first.
 */
function moveTo(
  s: BreakerState,
  to: CircuitBreakerStateName,
  at: number,
  reason: TransitionReason,
  until: number,
  decided: SlidingWindow,
  fx: StepEffects,
): void {
  const from = s.state;
  s.state = to;
  s.generation++;
  s.since = at;
  fx.transitions.push({
    from,
    to,
    at,
    reason,
    failureRate: failureRateOf(decided),
    slowCallRate: slowCallRateOf(decided),
    until,
  });
}

function enterOpen(
  s: BreakerState,
  c: CircuitBreakerSettings,
  at: number,
  reason: TransitionReason,
  fx: StepEffects,
) {
  s.attempts = attemptsSoFar(s) + 1;
  s.openUntil = at + c.waitDurationFor(s.attempts);
  s.halfOpenAvailable = 0;
  // The window that tripped the breaker stays, for getMetrics().
  moveTo(s, 'OPEN', at, reason, s.openUntil, s.window, fx);
}

function enterHalfOpen(
  s: BreakerState,
  c: CircuitBreakerSettings,
  at: number,
  reason: TransitionReason,
  fx: StepEffects,
) {
  const decided = s.window;
  s.attempts = attemptsSoFar(s);
  s.openUntil = 0;
  s.halfOpenAvailable = c.permittedNumberOfCallsInHalfOpenState;
  s.window = createHalfOpenWindow(c);
  s.notPermitted = 0;
  const maxWait = c.maxWaitDurationInHalfOpenState;
  moveTo(s, 'HALF_OPEN', at, reason, maxWait > 0 ? at + maxWait : 0, decided, fx);
}

function enterClosed(
  s: BreakerState,
  c: CircuitBreakerSettings,
  at: number,
  reason: TransitionReason,
  fx: StepEffects,
) {
  const decided = s.window;
  freshClosed(s, c, at);
  moveTo(s, 'CLOSED', at, reason, 0, decided, fx);
}

/** A fresh start: an empty closed window, no openings, nothing pending. */
function freshClosed(s: BreakerState, c: CircuitBreakerSettings, at: number): void {
  s.window = createClosedWindow(c, at);
  s.attempts = 0;
  s.openUntil = 0;
  s.halfOpenAvailable = 0;
  s.consecutiveFailures = 0;
  s.notPermitted = 0;
  s.exceededReported = false;
}

/** DISABLED and METRICS_ONLY start afresh; FORCED_OPEN, too, but counts as one more opening. */
function enterPassive(
  s: BreakerState,
  c: CircuitBreakerSettings,
  target: 'DISABLED' | 'FORCED_OPEN' | 'METRICS_ONLY',
  at: number,
  fx: StepEffects,
) {
  const decided = s.window;
  const attempts = target === 'FORCED_OPEN' ? attemptsSoFar(s) + 1 : 0;
  freshClosed(s, c, at);
  s.attempts = attempts;
  moveTo(s, target, at, 'MANUAL', 0, decided, fx);
}

// ---------------------------------------------------------------- reading

export interface CircuitBreakerMetrics {
  /** Percent of buffered calls that failed; -1 below the minimum number of calls. */
  readonly failureRate: number;
  /** Percent of buffered calls that were slow; -1 below the minimum number of calls. */
  readonly slowCallRate: number;
  readonly numberOfBufferedCalls: number;
  readonly numberOfFailedCalls: number;
  readonly numberOfSlowCalls: number;
  readonly numberOfSlowSuccessfulCalls: number;
  readonly numberOfSlowFailedCalls: number;
  readonly numberOfSuccessfulCalls: number;
  readonly numberOfNotPermittedCalls: number;
}

/** When the next time-driven transition falls due (epoch ms), or 0 when none is pending. */
export function nextDueAt(s: BreakerState, c: CircuitBreakerSettings): number {
  if (s.state === 'OPEN') return c.automaticTransitionFromOpenToHalfOpenEnabled ? s.openUntil : 0;
  if (s.state === 'HALF_OPEN' && c.maxWaitDurationInHalfOpenState > 0)
    return s.since + c.maxWaitDurationInHalfOpenState;
  return 0;
}

export function metricsOf(s: BreakerState): CircuitBreakerMetrics {
  const w = s.window;
  return {
    failureRate: failureRateOf(w),
    slowCallRate: slowCallRateOf(w),
    numberOfBufferedCalls: w.calls,
    numberOfFailedCalls: w.failures,
    numberOfSlowCalls: w.slow,
    numberOfSlowSuccessfulCalls: w.slow - w.slowFailures,
    numberOfSlowFailedCalls: w.slowFailures,
    numberOfSuccessfulCalls: w.calls - w.failures,
    numberOfNotPermittedCalls: s.notPermitted,
  };
}

// ---------------------------------------------------------------- the pure reference step

export type StepInput =
  | { readonly type: 'acquire' }
  | {
      readonly type: 'result';
      readonly permit: number;
      readonly outcome: Outcome;
      readonly durationMs?: number;
    }
  | { readonly type: 'release'; readonly permit: number }
  | { readonly type: 'force'; readonly target: ManualTarget }
  | { readonly type: 'carry'; readonly generation: number; readonly reason: TripReason }
  | { readonly type: 'tick' };

export type StepDecision =
  | { readonly type: 'permitted'; readonly permit: number }
  | { readonly type: 'denied'; readonly state: CircuitBreakerStateName }
  | { readonly type: 'recorded'; readonly recorded: boolean }
  | { readonly type: 'released' }
  | { readonly type: 'forced'; readonly legal: boolean }
  | { readonly type: 'carried'; readonly opened: boolean }
  | { readonly type: 'ticked' };

export interface StepResult {
  readonly state: BreakerState;
  readonly decision: StepDecision;
  readonly transitions: readonly BreakerTransition[];
  readonly exceeded: readonly ThresholdExceeded[];
  readonly reset: boolean;
}

/**
 * `step(state, input, config, now) -> { state', decision, transitions }`: the breaker as a pure
 * function. The input state is not modified.
 */
export function step(
  state: BreakerState,
  input: StepInput,
  c: CircuitBreakerSettings,
  now: number,
): StepResult {
  const s = cloneBreakerState(state);
  const fx = createEffects();
  let decision: StepDecision;
  switch (input.type) {
    case 'acquire': {
      const p = acquireIn(s, c, now, fx);
      decision = p >= 0 ? { type: 'permitted', permit: p } : { type: 'denied', state: deniedState(p) };
      break;
    }
    case 'result':
      decision = { type: 'recorded', recorded: recordIn(s, c, input.permit, input.outcome, now, fx) };
      break;
    case 'release':
      releaseIn(s, c, input.permit, now, fx);
      decision = { type: 'released' };
      break;
    case 'force':
      decision = { type: 'forced', legal: transitionIn(s, c, input.target, now, fx) };
      break;
    case 'carry':
      decision = { type: 'carried', opened: carryTripIn(s, c, input.generation, input.reason, now, fx) };
      break;
    default:
      refreshIn(s, c, now, fx);
      decision = { type: 'ticked' };
  }
  return { state: s, decision, transitions: fx.transitions, exceeded: fx.exceeded, reset: fx.reset };
}
