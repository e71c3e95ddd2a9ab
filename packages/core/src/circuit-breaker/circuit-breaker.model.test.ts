/**
 * Model-based tests: random configurations and random command sequences run against
 * `CircuitBreaker` (in-process, and on a MemoryStore shared by two instances of one name) and
 * against `BreakerModel` below, a deliberately naive restatement of the semantics (DESIGN.md
 * section 3 plus the decisions recorded in issue 2). After every command the decision, the
 * state, every metric and the STATE_TRANSITION/RESET events must agree.
 *
 * The model is written to be obviously correct rather than fast: a window is the list of every
 * outcome recorded in it, and rates are recomputed from that list on each question. Time-driven
 * transitions fire as exact timers when the model's clock moves; the implementation evaluates
 * them lazily, so agreement also checks that laziness is unobservable.
 *
 * A failure prints fast-check's seed and the shrunk command list; replay it with
 * `{ seed, path }` in the fc.assert options.
 */

import { isDeepStrictEqual } from 'node:util';
import {
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerMetrics,
  type CircuitBreakerStateName,
  IllegalStateTransitionError,
  ManualClock,
  STATES,
} from '@breakwater/core';
import { MAX_OPEN_ATTEMPT } from '@breakwater/core/engine';
import { MemoryStore } from '@breakwater/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BreakerShape,
  breakerShapeArbs,
  configOfShape,
  validBreakerShape,
} from '../../../../test/conformance/breaker-harness.js';
import { manualTransition } from './circuit-breaker.test-support.js';

// ------------------------------------------------------------------ the generated configuration

type WaitSpec =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'linear'; readonly base: number }
  | { readonly kind: 'exponential'; readonly base: number; readonly cap: number };

/** The shared generated shape (see the conformance harness), plus what only the model varies. */
interface ModelConfig extends BreakerShape {
  readonly slowCallDurationThreshold: number;
  readonly wait: WaitSpec;
  /** When set, a BenignError counts as a success (recordExceptions predicate). */
  readonly benignIsSuccess: boolean;
  /** When set, a call returning BAD_RESULT counts as a failure (recordResult). */
  readonly badResultIsFailure: boolean;
}

class FailureError extends Error {
  override name = 'FailureError';
}
class IgnoredError extends Error {
  override name = 'IgnoredError';
}
class BenignError extends Error {
  override name = 'BenignError';
}
const GOOD_RESULT = 'good';
const BAD_RESULT = 'bad';

const waitArb: fc.Arbitrary<WaitSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.integer({ min: 100, max: 5_000 }).map((ms) => ({ kind: 'fixed' as const, ms })),
  },
  fc.integer({ min: 100, max: 2_000 }).map((base) => ({ kind: 'linear' as const, base })),
  fc
    .record({ base: fc.integer({ min: 100, max: 1_000 }), cap: fc.integer({ min: 1_000, max: 6_000 }) })
    .map(({ base, cap }) => ({ kind: 'exponential' as const, base, cap })),
);

const configArb: fc.Arbitrary<ModelConfig> = fc
  .record({
    ...breakerShapeArbs,
    slowCallDurationThreshold: fc.constantFrom(1, 50, 250),
    wait: waitArb,
    benignIsSuccess: fc.boolean(),
    badResultIsFailure: fc.boolean(),
  })
  .map(validBreakerShape);

function waitFor(spec: WaitSpec, attempt: number): number {
  switch (spec.kind) {
    case 'fixed':
      return spec.ms;
    case 'linear':
      return spec.base * attempt;
    default:
      return Math.min(spec.cap, spec.base * 2 ** (attempt - 1));
  }
}

function toBreakerConfig(c: ModelConfig): CircuitBreakerConfig {
  const wait = c.wait;
  return {
    ...configOfShape(c),
    slowCallDurationThreshold: c.slowCallDurationThreshold,
    ...(wait.kind === 'fixed'
      ? { waitDurationInOpenState: wait.ms }
      : { waitIntervalFunctionInOpenState: (attempt: number) => waitFor(wait, attempt) }),
    ignoreExceptions: [IgnoredError],
    ...(c.benignIsSuccess ? { recordExceptions: (e: unknown) => !(e instanceof BenignError) } : {}),
    ...(c.badResultIsFailure ? { recordResult: (r: unknown) => r === BAD_RESULT } : {}),
  };
}

// ------------------------------------------------------------------ the model

type StateName = CircuitBreakerStateName;
type Target = StateName | 'RESET';

/** What the breaker publishes that we compare: transitions (with time and reason) and resets. */
type ModelEvent =
  | {
      readonly type: 'STATE_TRANSITION';
      readonly from: StateName;
      readonly to: StateName;
      at: number;
      reason: string;
    }
  | { readonly type: 'RESET' };

interface RecordedCall {
  readonly at: number;
  readonly failed: boolean;
  readonly slow: boolean;
}

interface ModelWindow {
  readonly kind: 'COUNT' | 'TIME';
  /** Calls (COUNT) or seconds (TIME). */
  readonly size: number;
  readonly minimum: number;
  /** Every outcome ever recorded into this window, oldest first. */
  readonly calls: RecordedCall[];
}

/** A permit's identity: the generation that issued it, or CURRENT for the manual API. */
const CURRENT = 'current';
type PermitId = number | typeof CURRENT;

/** Resilience4j forbids exactly these manual transitions (a transition to the same state is a no-op). */
const ILLEGAL: ReadonlySet<string> = new Set([
  'CLOSED->HALF_OPEN',
  'METRICS_ONLY->OPEN',
  'METRICS_ONLY->HALF_OPEN',
]);

class BreakerModel {
  state: StateName = 'CLOSED';
  generation = 0;
  /** When the current state began (for HALF_OPEN: when its max wait started). */
  enteredAt: number;
  openUntil = 0;
  /** Consecutive openings, for the wait function. */
  openings = 0;
  probesLeft = 0;
  failuresInARow = 0;
  notPermitted = 0;
  window: ModelWindow;
  readonly events: ModelEvent[] = [];

  constructor(
    readonly cfg: ModelConfig,
    public now: number,
  ) {
    this.enteredAt = now;
    this.window = this.closedWindow();
  }

  private get minimumCalls(): number {
    return this.cfg.minimumNumberOfCalls ?? 100;
  }

  private closedWindow(): ModelWindow {
    const c = this.cfg;
    return c.windowType === 'COUNT_BASED'
      ? { kind: 'COUNT', size: c.windowSize, minimum: Math.min(this.minimumCalls, c.windowSize), calls: [] }
      : { kind: 'TIME', size: c.windowSize, minimum: this.minimumCalls, calls: [] };
  }

  private halfOpenWindow(): ModelWindow {
    const p = this.cfg.permitted;
    return { kind: 'COUNT', size: p, minimum: Math.min(this.minimumCalls, p), calls: [] };
  }

  /** The calls the window holds now: the last `size` calls, or those of the last `size` seconds. */
  private visible(): RecordedCall[] {
    const w = this.window;
    if (w.kind === 'COUNT') return w.calls.slice(-w.size);
    const second = Math.floor(this.now / 1000);
    return w.calls.filter((c) => Math.floor(c.at / 1000) > second - w.size);
  }

  private tally() {
    const calls = this.visible();
    const failed = calls.filter((c) => c.failed).length;
    const slow = calls.filter((c) => c.slow).length;
    const n = calls.length;
    const rated = n > 0 && n >= this.window.minimum;
    return { n, failed, slow, rated };
  }

  /** Each count straight from the calls the window holds, none derived from another. */
  metrics(): CircuitBreakerMetrics {
    const t = this.tally();
    const count = (which: (call: RecordedCall) => boolean) => this.visible().filter(which).length;
    return {
      failureRate: t.rated ? (t.failed * 100) / t.n : -1,
      slowCallRate: t.rated ? (t.slow * 100) / t.n : -1,
      numberOfBufferedCalls: t.n,
      numberOfFailedCalls: t.failed,
      numberOfSlowCalls: t.slow,
      numberOfSlowSuccessfulCalls: count((c) => c.slow && !c.failed),
      numberOfSlowFailedCalls: count((c) => c.slow && c.failed),
      numberOfSuccessfulCalls: count((c) => !c.failed),
      numberOfNotPermittedCalls: this.notPermitted,
    };
  }

  /** Which rate thresholds the window exceeds (none below its minimum). */
  private exceeded(): { failure: boolean; slow: boolean } {
    const t = this.tally();
    if (!t.rated) return { failure: false, slow: false };
    const failureThreshold = this.cfg.failureRateThreshold;
    const slowThreshold = this.cfg.slowCallRateThreshold ?? 100;
    return { failure: t.failed * 100 >= failureThreshold * t.n, slow: t.slow * 100 >= slowThreshold * t.n };
  }

  // -------------------------------------------------------------- time

  /** Moves the clock, firing every timer that falls due, each at the moment it was due. */
  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const due = this.nextTimer();
      if (due === undefined || due > this.now) return;
      if (this.state === 'OPEN') this.enter('HALF_OPEN', due, 'WAIT_ELAPSED');
      else this.enter(this.cfg.afterMaxWait, due, 'HALF_OPEN_TIMEOUT');
    }
  }

  /** When the next time-driven transition is due, if one is pending. */
  nextTimer(): number | undefined {
    if (this.state === 'OPEN' && this.cfg.automatic) return this.openUntil;
    if (this.state === 'HALF_OPEN' && this.cfg.maxWaitInHalfOpen > 0) {
      return this.enteredAt + this.cfg.maxWaitInHalfOpen;
    }
    return undefined;
  }

  /** The next moment at which something changes by itself: a timer, or the end of the OPEN wait. */
  nextDeadline(): number | undefined {
    if (this.state === 'OPEN') return this.openUntil;
    return this.nextTimer();
  }

  // -------------------------------------------------------------- operations

  acquire(): { permitted: true; permit: number } | { permitted: false; state: StateName } {
    switch (this.state) {
      case 'CLOSED':
      case 'DISABLED':
      case 'METRICS_ONLY':
        return { permitted: true, permit: this.generation };
      case 'FORCED_OPEN':
        this.notPermitted++;
        return { permitted: false, state: 'FORCED_OPEN' };
      case 'OPEN':
        if (this.now < this.openUntil) {
          this.notPermitted++;
          return { permitted: false, state: 'OPEN' };
        }
        this.enter('HALF_OPEN', this.now, 'WAIT_ELAPSED');
        return this.acquire();
      default:
        if (this.probesLeft > 0) {
          this.probesLeft--;
          return { permitted: true, permit: this.generation };
        }
        this.notPermitted++;
        return { permitted: false, state: 'HALF_OPEN' };
    }
  }

  private isLate(permit: PermitId): boolean {
    return permit !== CURRENT && permit !== this.generation;
  }

  record(permit: PermitId, failed: boolean, durationMs: number): void {
    if (this.isLate(permit)) return;
    const call = { at: this.now, failed, slow: durationMs > this.cfg.slowCallDurationThreshold };
    switch (this.state) {
      case 'CLOSED':
        this.window.calls.push(call);
        this.failuresInARow = failed ? this.failuresInARow + 1 : 0;
        this.judgeClosed();
        return;
      case 'HALF_OPEN':
        this.window.calls.push(call);
        this.judgeHalfOpen(failed);
        return;
      case 'OPEN':
      case 'METRICS_ONLY':
        this.window.calls.push(call);
        return;
      default:
      // DISABLED and FORCED_OPEN record nothing.
    }
  }

  private judgeClosed(): void {
    const { failure, slow } = this.exceeded();
    if (failure || slow) {
      this.enter('OPEN', this.now, failure ? 'FAILURE_RATE' : 'SLOW_CALL_RATE');
      return;
    }
    const countThreshold = this.cfg.failureCountThreshold;
    const inARowThreshold = this.cfg.consecutiveFailureThreshold;
    if (countThreshold !== undefined && this.tally().failed >= countThreshold) {
      this.enter('OPEN', this.now, 'FAILURE_COUNT');
    } else if (inARowThreshold !== undefined && this.failuresInARow >= inARowThreshold) {
      this.enter('OPEN', this.now, 'CONSECUTIVE_FAILURES');
    }
  }

  private judgeHalfOpen(failed: boolean): void {
    if (this.cfg.halfOpenPolicy === 'successes') {
      const needed = this.cfg.successThreshold ?? this.cfg.permitted;
      const t = this.tally();
      if (failed) this.enter('OPEN', this.now, 'HALF_OPEN_FAILURE');
      else if (t.n - t.failed >= needed) this.enter('CLOSED', this.now, 'HALF_OPEN_PASSED');
      return;
    }
    if (this.tally().n < this.window.minimum) return;
    const { failure, slow } = this.exceeded();
    if (failure || slow) this.enter('OPEN', this.now, failure ? 'FAILURE_RATE' : 'SLOW_CALL_RATE');
    else this.enter('CLOSED', this.now, 'HALF_OPEN_PASSED');
  }

  release(permit: PermitId): void {
    if (this.isLate(permit)) return;
    if (this.state === 'HALF_OPEN') this.probesLeft = Math.min(this.cfg.permitted, this.probesLeft + 1);
  }

  /** A manual transition; false when illegal (nothing changes). */
  transition(target: Target): boolean {
    if (target === 'RESET') {
      if (this.state !== 'CLOSED') {
        this.enter('CLOSED', this.now, 'RESET');
      } else {
        // Not a transition, but a new generation: calls admitted before the reset are late.
        this.generation++;
        this.window = this.closedWindow();
        this.failuresInARow = 0;
        this.notPermitted = 0;
        this.openings = 0;
      }
      this.events.push({ type: 'RESET' });
      return true;
    }
    if (target === this.state) return true;
    if (ILLEGAL.has(`${this.state}->${target}`)) return false;
    this.enter(target, this.now, 'MANUAL');
    return true;
  }

  private enter(to: StateName, at: number, reason: string): void {
    const from = this.state;
    // Resilience4j: OPEN and FORCED_OPEN count an opening, HALF_OPEN carries the count, the others reset it.
    const openingsSoFar =
      from === 'OPEN' || from === 'HALF_OPEN' || from === 'FORCED_OPEN' ? this.openings : 0;
    this.openings =
      to === 'OPEN' || to === 'FORCED_OPEN' ? openingsSoFar + 1 : to === 'HALF_OPEN' ? openingsSoFar : 0;
    this.state = to;
    this.generation++;
    this.enteredAt = at;
    // Openings past MAX_OPEN_ATTEMPT wait as long as that one (documented on the option).
    this.openUntil =
      to === 'OPEN' ? at + waitFor(this.cfg.wait, Math.min(this.openings, MAX_OPEN_ATTEMPT)) : 0;
    this.probesLeft = to === 'HALF_OPEN' ? this.cfg.permitted : 0;
    // OPEN keeps the window that tripped it (and its refusal count); every other state starts afresh.
    if (to !== 'OPEN') {
      this.window = to === 'HALF_OPEN' ? this.halfOpenWindow() : this.closedWindow();
      this.notPermitted = 0;
    }
    if (to === 'CLOSED') this.failuresInARow = 0;
    this.events.push({ type: 'STATE_TRANSITION', from, to, at, reason });
  }
}

// ------------------------------------------------------------------ commands

/** How a call ends: a value, a recorded error, an ignored error, a BenignError, or BAD_RESULT. */
type Ending = 'success' | 'failure' | 'ignored' | 'benign' | 'badResult';

type Op =
  | { kind: 'call'; via: number; gap: number; durationMs: number; ending: Ending }
  | { kind: 'start'; via: number; gap: number; abortable: boolean }
  | { kind: 'finish'; pick: number; gap: number; ending: Ending }
  | { kind: 'abort'; pick: number; gap: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'advanceTo'; to: 'deadline' | 'second'; offset: -1 | 0 | 1 }
  | { kind: 'force'; via: number; gap: number; target: Target }
  /** The manual permit API: tryAcquirePermission(), or acquirePermission() which throws when refused. */
  | { kind: 'tryAcquire'; via: number; gap: number; throwing: boolean }
  | { kind: 'onSuccess'; via: number; durationMs: number; bad: boolean }
  | { kind: 'onError'; via: number; durationMs: number; ending: 'failure' | 'ignored' | 'benign' }
  | { kind: 'release'; via: number }
  | { kind: 'read'; via: number };

interface ModelHandle {
  readonly permit: number;
  readonly startedAt: number;
  readonly abortable: boolean;
}

interface ModelWorld {
  readonly m: BreakerModel;
  readonly handles: ModelHandle[];
}

type Settled =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

interface RealHandle {
  readonly settle: (ending: Ending) => void;
  readonly deferred: Promise<unknown>;
  readonly settled: Promise<Settled>;
  readonly controller: AbortController | undefined;
}

interface RealWorld {
  readonly clock: ManualClock;
  readonly breakers: readonly CircuitBreaker[];
  /** Each breaker's STATE_TRANSITION and RESET events, as heard by that instance. */
  readonly logs: ModelEvent[][];
  readonly handles: RealHandle[];
}

function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Runs the ending of a call: returns a value or throws. */
function perform(ending: Ending): unknown {
  switch (ending) {
    case 'success':
      return GOOD_RESULT;
    case 'badResult':
      return BAD_RESULT;
    case 'failure':
      throw new FailureError('boom');
    case 'ignored':
      throw new IgnoredError('ignore me');
    default:
      throw new BenignError('benign');
  }
}

/** What the model does with a call's ending. */
function modelEnding(m: BreakerModel, permit: PermitId, ending: Ending, durationMs: number): void {
  if (ending === 'ignored') m.release(permit);
  else if (ending === 'success') m.record(permit, false, durationMs);
  else if (ending === 'failure') m.record(permit, true, durationMs);
  else if (ending === 'benign') m.record(permit, !m.cfg.benignIsSuccess, durationMs);
  else m.record(permit, m.cfg.badResultIsFailure, durationMs);
}

function expectSettledAs(result: Settled, ending: Ending): void {
  if (ending === 'success' || ending === 'badResult') {
    expect(result).toEqual({ ok: true, value: ending === 'success' ? GOOD_RESULT : BAD_RESULT });
  } else {
    expect(result.ok).toBe(false);
    const expected = ending === 'failure' ? FailureError : ending === 'ignored' ? IgnoredError : BenignError;
    expect((result as { error: unknown }).error).toBeInstanceOf(expected);
  }
}

function expectRefused(result: Settled, state: StateName): void {
  expect(result.ok).toBe(false);
  const error = (result as { error: unknown }).error;
  expect(error).toBeInstanceOf(CallNotPermittedError);
  expect((error as CallNotPermittedError).state).toBe(state);
}

function breakerOf(r: RealWorld, via: number): CircuitBreaker {
  return r.breakers[via % r.breakers.length];
}

function advanceBoth(m: ModelWorld, r: RealWorld, ms: number): void {
  if (ms <= 0) return;
  r.clock.advance(ms);
  m.m.advance(ms);
}

function deadlineTarget(m: BreakerModel, to: 'deadline' | 'second', offset: number): number | undefined {
  const base = to === 'deadline' ? m.nextDeadline() : (Math.floor(m.now / 1000) + 1) * 1000;
  if (base === undefined) return undefined;
  const target = base + offset;
  return target > m.now ? target : undefined;
}

async function runOp(op: Op, w: ModelWorld, r: RealWorld): Promise<void> {
  const m = w.m;
  switch (op.kind) {
    case 'call': {
      advanceBoth(w, r, op.gap);
      let ran = false;
      const result = await settle(
        breakerOf(r, op.via).execute(() => {
          ran = true;
          r.clock.advance(op.durationMs);
          return perform(op.ending);
        }),
      );
      const decision = m.acquire();
      expect(ran).toBe(decision.permitted);
      if (!decision.permitted) return expectRefused(result, decision.state);
      m.advance(op.durationMs);
      modelEnding(m, decision.permit, op.ending, op.durationMs);
      return expectSettledAs(result, op.ending);
    }
    case 'start': {
      advanceBoth(w, r, op.gap);
      let resolve!: (v: unknown) => void;
      let reject!: (e: unknown) => void;
      const deferred = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const controller = op.abortable ? new AbortController() : undefined;
      let ran = false;
      const settled = settle(
        breakerOf(r, op.via).execute(() => {
          ran = true;
          return deferred;
        }, controller?.signal),
      );
      const decision = m.acquire();
      // The supplier runs synchronously inside execute() when the permit is granted.
      expect(ran).toBe(decision.permitted);
      if (!decision.permitted) return expectRefused(await settled, decision.state);
      const settleWith = (ending: Ending) => {
        try {
          resolve(perform(ending));
        } catch (error) {
          reject(error);
        }
      };
      r.handles.push({ settle: settleWith, deferred, settled, controller });
      w.handles.push({ permit: decision.permit, startedAt: m.now, abortable: op.abortable });
      return;
    }
    case 'finish': {
      const i = op.pick % w.handles.length;
      advanceBoth(w, r, op.gap);
      const [real] = r.handles.splice(i, 1);
      const [model] = w.handles.splice(i, 1);
      real.settle(op.ending);
      expectSettledAs(await real.settled, op.ending);
      modelEnding(m, model.permit, op.ending, m.now - model.startedAt);
      return;
    }
    case 'abort': {
      const abortable = w.handles.flatMap((h, i) => (h.abortable ? [i] : []));
      const i = abortable[op.pick % abortable.length];
      advanceBoth(w, r, op.gap);
      const [real] = r.handles.splice(i, 1);
      const [model] = w.handles.splice(i, 1);
      const reason = new Error('aborted by the test');
      real.controller?.abort(reason);
      expect(await real.settled).toEqual({ ok: false, error: reason });
      // The abandoned call finishes afterwards (with a failure): that must not be recorded.
      real.settle('failure');
      await real.deferred.catch(() => {});
      m.release(model.permit);
      return;
    }
    case 'advance':
      return advanceBoth(w, r, op.ms);
    case 'advanceTo': {
      const target = deadlineTarget(m, op.to, op.offset);
      if (target !== undefined) advanceBoth(w, r, target - m.now);
      return;
    }
    case 'force': {
      advanceBoth(w, r, op.gap);
      const result = await settle(manualTransition(breakerOf(r, op.via), op.target));
      const legal = m.transition(op.target);
      expect(result.ok).toBe(legal);
      if (!result.ok) expect(result.error).toBeInstanceOf(IllegalStateTransitionError);
      return;
    }
    case 'tryAcquire': {
      advanceBoth(w, r, op.gap);
      const cb = breakerOf(r, op.via);
      const decision = m.acquire();
      if (!op.throwing) {
        expect(await cb.tryAcquirePermission()).toBe(decision.permitted);
        return;
      }
      const result = await settle(cb.acquirePermission());
      if (decision.permitted) expect(result).toEqual({ ok: true, value: undefined });
      else expectRefused(result, decision.state);
      return;
    }
    case 'onSuccess':
      await breakerOf(r, op.via).onSuccess(op.durationMs, op.bad ? BAD_RESULT : GOOD_RESULT);
      return modelEnding(m, CURRENT, op.bad ? 'badResult' : 'success', op.durationMs);
    case 'onError': {
      const error =
        op.ending === 'failure'
          ? new FailureError('manual')
          : op.ending === 'ignored'
            ? new IgnoredError('manual')
            : new BenignError('manual');
      await breakerOf(r, op.via).onError(op.durationMs, error);
      return modelEnding(m, CURRENT, op.ending, op.durationMs);
    }
    case 'release':
      await breakerOf(r, op.via).releasePermission();
      return m.release(CURRENT);
    default:
    // 'read': the comparison after every command is the read.
  }
}

/** expect(actual).toEqual(expected), with a fast path: vitest's deep equality is slow on hot loops. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, what).toEqual(expected);
}

/** After every command: state, metrics and events of every instance equal the model's. */
async function compare(w: ModelWorld, r: RealWorld): Promise<void> {
  for (let i = 0; i < r.breakers.length; i++) {
    const cb = r.breakers[i];
    same(await cb.getState(), w.m.state, `state of breaker ${i}`);
    same(await cb.getMetrics(), w.m.metrics(), `metrics of breaker ${i}`);
    same(r.logs[i], w.m.events, `events heard by breaker ${i}`);
  }
}

const OPERATES_ON_BREAKER: ReadonlySet<Op['kind']> = new Set<Op['kind']>([
  'call',
  'start',
  'finish',
  'abort',
  'force',
  'tryAcquire',
  'onSuccess',
  'onError',
  'release',
]);

class BreakerCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(readonly op: Op) {}

  check(w: Readonly<ModelWorld>): boolean {
    const op = this.op;
    if (op.kind === 'finish') return w.handles.length > 0;
    if (op.kind === 'abort') return w.handles.some((h) => h.abortable);
    if (op.kind === 'advanceTo') return deadlineTarget(w.m, op.to, op.offset) !== undefined;
    return true;
  }

  async run(w: ModelWorld, r: RealWorld): Promise<void> {
    await runOp(this.op, w, r);
    // An operation on the breaker applies whatever fell due by now and publishes its events before
    // it returns: check them before reading (a read would flush anything held back). Clock moves
    // alone publish nothing until the next operation (transitions are lazy): the read covers them.
    if (OPERATES_ON_BREAKER.has(this.op.kind)) {
      for (let i = 0; i < r.breakers.length; i++) {
        same(r.logs[i], w.m.events, `events heard by breaker ${i} right after the command`);
      }
    }
    await compare(w, r);
  }

  toString(): string {
    return JSON.stringify(this.op);
  }
}

const viaArb = fc.nat({ max: 1 });
const gapArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_500 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_500, max: 20_000 }) },
);
const durationArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constantFrom(1, 2, 50, 51, 250, 251) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 1_200 }) },
);
const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('success' as const, 'failure' as const) },
  { weight: 1, arbitrary: fc.constantFrom('ignored' as const, 'benign' as const, 'badResult' as const) },
);
const targetArb: fc.Arbitrary<Target> = fc.constantFrom<Target>(...STATES, 'RESET');

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      via: viaArb,
      gap: gapArb,
      durationMs: durationArb,
      ending: endingArb,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('start' as const),
      via: viaArb,
      gap: gapArb,
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      pick: fc.nat(),
      gap: gapArb,
      ending: endingArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat(), gap: gapArb }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1_000, max: 6_000 }),
        fc.integer({ min: 6_000, max: 90_000 }),
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('advanceTo' as const),
      to: fc.constantFrom('deadline' as const, 'second' as const),
      offset: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('force' as const),
      via: viaArb,
      gap: gapArb,
      target: targetArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('tryAcquire' as const),
      via: viaArb,
      gap: gapArb,
      throwing: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('onSuccess' as const),
      via: viaArb,
      durationMs: durationArb,
      bad: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('onError' as const),
      via: viaArb,
      durationMs: durationArb,
      ending: fc.constantFrom('failure' as const, 'ignored' as const, 'benign' as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), via: viaArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), via: viaArb }) },
);

const commandsArb = fc.commands([opArb.map((op) => new BreakerCommand(op))], {
  maxCommands: 50,
  size: 'max',
});

/** Epoch start with a random sub-second offset, so that window buckets do not line up with the start. */
const startArb = fc.integer({ min: 0, max: 999 }).map((ms) => 1_700_000_000_000 + ms);

/** Per variant (two variants). Raise it locally to hunt for rarer counterexamples. */
const NUM_RUNS = 1000;

async function checkAgainstModel(withStore: boolean): Promise<void> {
  await fc.assert(
    fc.asyncProperty(configArb, startArb, commandsArb, async (cfg, start, cmds) => {
      const clock = new ManualClock(start);
      const store = withStore ? new MemoryStore() : undefined;
      // On a store, two instances of one name share one state: commands alternate between them.
      const breakers = Array.from({ length: withStore ? 2 : 1 }, () =>
        CircuitBreaker.of('model', toBreakerConfig(cfg), { clock, store }),
      );
      const logs = breakers.map((cb) => {
        const log: ModelEvent[] = [];
        cb.on('STATE_TRANSITION', (e) =>
          log.push({ type: 'STATE_TRANSITION', from: e.from, to: e.to, at: e.at, reason: e.reason }),
        );
        cb.on('RESET', () => log.push({ type: 'RESET' }));
        return log;
      });
      try {
        await fc.asyncModelRun(
          () => ({
            model: { m: new BreakerModel(cfg, start), handles: [] },
            real: { clock, breakers, logs, handles: [] },
          }),
          cmds,
        );
      } finally {
        for (const cb of breakers) cb.close();
      }
    }),
    { numRuns: NUM_RUNS },
  );
}

// Generous timeouts: a few seconds locally, but CI machines are shared.
describe('CircuitBreaker against the model', () => {
  it('in-process (no store)', async () => {
    await checkAgainstModel(false);
  }, 120_000);

  it('on a MemoryStore shared by two instances', async () => {
    await checkAgainstModel(true);
  }, 120_000);
});
