/**
 * Shared setup of the circuit-breaker.*.test.ts files: a manual clock, a small config, and helpers
 * that drive a breaker through calls and read its events. Not a test file itself.
 */
import {
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerEvent,
  type CircuitBreakerStateName,
  ManualClock,
} from '@breakwater/core';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { rejectionOf } from '../common/rejection.test-support.js';

// A whole second, so that TIME_BASED bucket boundaries are easy to reason about.
export const T0 = 1_700_000_000_000;
export const TEN_YEARS = 10 * 365 * 24 * 3600 * 1000;

/** The clock of every breaker `make` creates; a fresh one at T0 for each test. */
export let clock: ManualClock = new ManualClock(T0);

/**
 * For the calling test file: a fresh `clock` at T0 before each test; real timers and restored mocks
 * after each.
 */
export function freshClockForEachTest(): void {
  beforeEach(() => {
    clock = new ManualClock(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}

export class BoomError extends Error {
  override name = 'BoomError';
}
export class RecordedError extends Error {
  override name = 'RecordedError';
}
export class IgnoredError extends Error {
  override name = 'IgnoredError';
}

export function make(config: CircuitBreakerConfig = {}, name = 'cb'): CircuitBreaker {
  return CircuitBreaker.of(name, config, { clock });
}

/** A COUNT_BASED window of the last `n` calls, whose rates count once it holds all `n`. */
export function windowOf(n: number): CircuitBreakerConfig {
  return { slidingWindowSize: n, minimumNumberOfCalls: n };
}

/** Trips after 2 failures out of 2; 1 s open; 2 probes. */
export const SMALL: CircuitBreakerConfig = {
  slidingWindowSize: 2,
  minimumNumberOfCalls: 2,
  waitDurationInOpenState: 1000,
  permittedNumberOfCallsInHalfOpenState: 2,
};

/** A breaker of `config` (SMALL by default) that two failures have tripped OPEN, at T0. */
export async function tripped(config: CircuitBreakerConfig = SMALL, name?: string): Promise<CircuitBreaker> {
  const cb = make(config, name);
  await fail(cb, 2);
  return cb;
}

export async function succeed(cb: CircuitBreaker, times = 1, durationMs = 0): Promise<void> {
  for (let i = 0; i < times; i++) {
    await expect(
      cb.execute(() => {
        clock.advance(durationMs);
        return 'ok';
      }),
    ).resolves.toBe('ok');
  }
}

export async function fail(
  cb: CircuitBreaker,
  times = 1,
  durationMs = 0,
  error: unknown = new BoomError('boom'),
): Promise<void> {
  for (let i = 0; i < times; i++) {
    await expect(
      cb.execute(() => {
        clock.advance(durationMs);
        throw error;
      }),
    ).rejects.toBe(error);
  }
}

/** Checks that `cb` refuses a call with CallNotPermittedError, reporting `state`. */
export async function refused(cb: CircuitBreaker, state: CircuitBreakerStateName = 'OPEN'): Promise<void> {
  const error = await rejectionOf(cb.execute(() => 'never'));
  expect(error).toBeInstanceOf(CallNotPermittedError);
  expect((error as CallNotPermittedError).state).toBe(state);
}

export function listen(cb: CircuitBreaker): CircuitBreakerEvent[] {
  const events: CircuitBreakerEvent[] = [];
  cb.onEvent((e) => events.push(e));
  return events;
}

export const typesOf = (events: CircuitBreakerEvent[]) => events.map((e) => e.type);
export const transitionsOf = (events: CircuitBreakerEvent[]) =>
  events.flatMap((e) => (e.type === 'STATE_TRANSITION' ? [`${e.from}->${e.to}`] : []));
export const transitionEvents = (events: CircuitBreakerEvent[]) =>
  events.filter(
    (e): e is Extract<CircuitBreakerEvent, { type: 'STATE_TRANSITION' }> => e.type === 'STATE_TRANSITION',
  );

/** Puts a fresh breaker into `state` by legal manual transitions. */
export async function driveTo(cb: CircuitBreaker, state: CircuitBreakerStateName): Promise<void> {
  if (state === 'CLOSED') return;
  // HALF_OPEN is only reached from OPEN (or from a passive state).
  if (state === 'HALF_OPEN') await cb.transitionToOpenState();
  return manualTransition(cb, state);
}

/** How each manual transition (and the reset) is asked of a breaker. */
const MANUAL_TRANSITIONS: Record<CircuitBreakerStateName | 'RESET', (cb: CircuitBreaker) => Promise<void>> = {
  RESET: (cb) => cb.reset(),
  CLOSED: (cb) => cb.transitionToClosedState(),
  OPEN: (cb) => cb.transitionToOpenState(),
  HALF_OPEN: (cb) => cb.transitionToHalfOpenState(),
  DISABLED: (cb) => cb.transitionToDisabledState(),
  FORCED_OPEN: (cb) => cb.transitionToForcedOpenState(),
  METRICS_ONLY: (cb) => cb.transitionToMetricsOnlyState(),
};

/** The manual transition of `cb` to `to` (or its reset). */
export function manualTransition(cb: CircuitBreaker, to: CircuitBreakerStateName | 'RESET'): Promise<void> {
  return MANUAL_TRANSITIONS[to](cb);
}
