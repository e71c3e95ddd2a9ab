import {
  BulkheadFullError,
  CallNotPermittedError,
  CircuitBreaker,
  type CircuitBreakerConfig,
  type CircuitBreakerEvent,
  type CircuitBreakerStateName,
  IllegalStateTransitionError,
  ManualClock,
  RequestNotPermittedError,
  ResultRecordedAsFailureError,
  STATES,
} from '@breakwater/core';
import { EventPublisher } from '@breakwater/core/engine';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';

// A whole second, so that TIME_BASED bucket boundaries are easy to reason about.
const T0 = 1_700_000_000_000;
const TEN_YEARS = 10 * 365 * 24 * 3600 * 1000;

let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(T0);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

class BoomError extends Error {
  override name = 'BoomError';
}
class RecordedError extends Error {
  override name = 'RecordedError';
}
class IgnoredError extends Error {
  override name = 'IgnoredError';
}

function make(config: CircuitBreakerConfig = {}, name = 'cb'): CircuitBreaker {
  return CircuitBreaker.of(name, config, { clock });
}

/** Trips after 2 failures out of 2; 1 s open; 2 probes. */
const SMALL: CircuitBreakerConfig = {
  slidingWindowSize: 2,
  minimumNumberOfCalls: 2,
  waitDurationInOpenState: 1000,
  permittedNumberOfCallsInHalfOpenState: 2,
};

async function succeed(cb: CircuitBreaker, times = 1, durationMs = 0): Promise<void> {
  for (let i = 0; i < times; i++) {
    await expect(
      cb.execute(() => {
        clock.advance(durationMs);
        return 'ok';
      }),
    ).resolves.toBe('ok');
  }
}

async function fail(
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

async function refused(cb: CircuitBreaker, state: CircuitBreakerStateName = 'OPEN'): Promise<void> {
  const error = await cb
    .execute(() => 'never')
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(CallNotPermittedError);
  expect((error as CallNotPermittedError).state).toBe(state);
}

function listen(cb: CircuitBreaker): CircuitBreakerEvent[] {
  const events: CircuitBreakerEvent[] = [];
  cb.onEvent((e) => events.push(e));
  return events;
}

const typesOf = (events: CircuitBreakerEvent[]) => events.map((e) => e.type);
const transitionsOf = (events: CircuitBreakerEvent[]) =>
  events.flatMap((e) => (e.type === 'STATE_TRANSITION' ? [`${e.from}->${e.to}`] : []));
const transitionEvents = (events: CircuitBreakerEvent[]) =>
  events.filter(
    (e): e is Extract<CircuitBreakerEvent, { type: 'STATE_TRANSITION' }> => e.type === 'STATE_TRANSITION',
  );

function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Puts a fresh breaker into `state` by legal manual transitions. */
async function driveTo(cb: CircuitBreaker, state: CircuitBreakerStateName): Promise<void> {
  switch (state) {
    case 'CLOSED':
      return;
    case 'OPEN':
      return cb.transitionToOpenState();
    case 'HALF_OPEN':
      await cb.transitionToOpenState();
      return cb.transitionToHalfOpenState();
    case 'DISABLED':
      return cb.transitionToDisabledState();
    case 'FORCED_OPEN':
      return cb.transitionToForcedOpenState();
    case 'METRICS_ONLY':
      return cb.transitionToMetricsOnlyState();
  }
}

function manualTransition(cb: CircuitBreaker, to: CircuitBreakerStateName): Promise<void> {
  switch (to) {
    case 'CLOSED':
      return cb.transitionToClosedState();
    case 'OPEN':
      return cb.transitionToOpenState();
    case 'HALF_OPEN':
      return cb.transitionToHalfOpenState();
    case 'DISABLED':
      return cb.transitionToDisabledState();
    case 'FORCED_OPEN':
      return cb.transitionToForcedOpenState();
    case 'METRICS_ONLY':
      return cb.transitionToMetricsOnlyState();
  }
}

// Resilience4j's StateTransition enum, minus the self-transitions.
const LEGAL: [CircuitBreakerStateName, CircuitBreakerStateName][] = [
  ['CLOSED', 'OPEN'],
  ['CLOSED', 'DISABLED'],
  ['CLOSED', 'METRICS_ONLY'],
  ['CLOSED', 'FORCED_OPEN'],
  ['HALF_OPEN', 'CLOSED'],
  ['HALF_OPEN', 'OPEN'],
  ['HALF_OPEN', 'DISABLED'],
  ['HALF_OPEN', 'METRICS_ONLY'],
  ['HALF_OPEN', 'FORCED_OPEN'],
  ['OPEN', 'CLOSED'],
  ['OPEN', 'HALF_OPEN'],
  ['OPEN', 'DISABLED'],
  ['OPEN', 'METRICS_ONLY'],
  ['OPEN', 'FORCED_OPEN'],
  ['FORCED_OPEN', 'CLOSED'],
  ['FORCED_OPEN', 'OPEN'],
  ['FORCED_OPEN', 'DISABLED'],
  ['FORCED_OPEN', 'METRICS_ONLY'],
  ['FORCED_OPEN', 'HALF_OPEN'],
  ['DISABLED', 'CLOSED'],
  ['DISABLED', 'OPEN'],
  ['DISABLED', 'FORCED_OPEN'],
  ['DISABLED', 'HALF_OPEN'],
  ['DISABLED', 'METRICS_ONLY'],
  ['METRICS_ONLY', 'CLOSED'],
  ['METRICS_ONLY', 'FORCED_OPEN'],
  ['METRICS_ONLY', 'DISABLED'],
];
const ILLEGAL: [CircuitBreakerStateName, CircuitBreakerStateName][] = [];
for (const from of STATES) {
  for (const to of STATES) {
    if (from !== to && !LEGAL.some(([f, t]) => f === from && t === to)) ILLEGAL.push([from, to]);
  }
}

// ====================================================================== manual transitions

describe('manual transitions', () => {
  it('knows every pair of states', () => {
    expect(LEGAL.length + ILLEGAL.length).toBe(30);
    expect(ILLEGAL).toEqual([
      ['CLOSED', 'HALF_OPEN'],
      ['METRICS_ONLY', 'OPEN'],
      ['METRICS_ONLY', 'HALF_OPEN'],
    ]);
  });

  it.each(LEGAL)('%s -> %s is legal and publishes one STATE_TRANSITION', async (from, to) => {
    const cb = make(SMALL);
    await driveTo(cb, from);
    expect(await cb.getState()).toBe(from);
    clock.advance(10);
    const events = listen(cb);
    await manualTransition(cb, to);
    expect(await cb.getState()).toBe(to);
    const expected: Partial<CircuitBreakerEvent>[] = [
      { type: 'STATE_TRANSITION', from, to, reason: 'MANUAL', name: 'cb', at: T0 + 10 },
    ];
    if (to === 'FORCED_OPEN') expected.push({ type: 'FORCED_OPEN', name: 'cb', at: T0 + 10 });
    if (to === 'DISABLED') expected.push({ type: 'DISABLED', name: 'cb', at: T0 + 10 });
    expect(events).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(events[i]).toMatchObject(e);
    });
  });

  it.each(ILLEGAL)('%s -> %s is refused with IllegalStateTransitionError', async (from, to) => {
    const cb = make(SMALL, 'illegal');
    await driveTo(cb, from);
    const events = listen(cb);
    const error = await manualTransition(cb, to).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IllegalStateTransitionError);
    expect(error).toMatchObject({
      name: 'IllegalStateTransitionError',
      circuitBreakerName: 'illegal',
      from,
      to,
    });
    expect(await cb.getState()).toBe(from);
    expect(events).toEqual([]);
  });

  it.each(STATES)('%s -> itself is a no-op that publishes nothing', async (state) => {
    const cb = make(SMALL);
    await driveTo(cb, state);
    const events = listen(cb);
    await manualTransition(cb, state);
    expect(await cb.getState()).toBe(state);
    expect(events).toEqual([]);
  });

  it('a self-transition to OPEN does not restart the open wait', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    clock.advance(600);
    await cb.transitionToOpenState();
    clock.advance(400); // 1000 ms after the breaker opened
    await succeed(cb);
    expect(await cb.getState()).toBe('HALF_OPEN');
  });

  it('a self-transition to HALF_OPEN does not hand out fresh probes', async () => {
    const cb = make(SMALL);
    await driveTo(cb, 'HALF_OPEN');
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.transitionToHalfOpenState();
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.tryAcquirePermission()).toBe(false);
  });

  it('a self-transition to CLOSED keeps the window', async () => {
    const cb = make({ slidingWindowSize: 10, minimumNumberOfCalls: 10 });
    await fail(cb, 3);
    await cb.transitionToClosedState();
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(3);
  });

  it('transitionToOpenState keeps the current window for getMetrics()', async () => {
    const cb = make({ slidingWindowSize: 10, minimumNumberOfCalls: 10 });
    await fail(cb, 2);
    await succeed(cb, 1);
    await cb.transitionToOpenState();
    expect(await cb.getMetrics()).toMatchObject({
      numberOfBufferedCalls: 3,
      numberOfFailedCalls: 2,
      numberOfSuccessfulCalls: 1,
    });
  });

  it('OPEN -> CLOSED starts a fresh window', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    await cb.transitionToClosedState();
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    await fail(cb);
    expect(await cb.getState()).toBe('CLOSED');
  });
});

// ====================================================================== CLOSED -> OPEN

describe('CLOSED -> OPEN', () => {
  it('opens when the failure rate reaches the threshold exactly, events in order', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4, failureRateThreshold: 50 });
    const events = listen(cb);
    await succeed(cb, 2);
    await fail(cb);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
    expect(typesOf(events)).toEqual([
      'SUCCESS',
      'SUCCESS',
      'ERROR',
      'ERROR',
      'FAILURE_RATE_EXCEEDED',
      'STATE_TRANSITION',
    ]);
    expect(events[4]).toMatchObject({ failureRate: 50, at: T0 });
    expect(events[5]).toMatchObject({
      from: 'CLOSED',
      to: 'OPEN',
      reason: 'FAILURE_RATE',
      failureRate: 50,
      at: T0,
    });
  });

  it('stays closed just below the threshold', async () => {
    const cb = make({ slidingWindowSize: 3, minimumNumberOfCalls: 3, failureRateThreshold: 67 });
    await succeed(cb);
    await fail(cb, 2); // 66.7% < 67%
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).failureRate).toBeCloseTo(66.667, 2);
  });

  it('a COUNT_BASED window forgets the oldest outcome', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4, failureRateThreshold: 50 });
    await fail(cb);
    await succeed(cb, 3); // F S S S: 25%
    await fail(cb); // S S S F: 25% (the first failure fell out)
    expect(await cb.getState()).toBe('CLOSED');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, numberOfFailedCalls: 1 });
    await fail(cb); // S S F F: 50%
    expect(await cb.getState()).toBe('OPEN');
  });

  it('opens on the slow-call rate (slow means strictly longer than the threshold)', async () => {
    const cb = make({
      slidingWindowSize: 4,
      minimumNumberOfCalls: 4,
      slowCallDurationThreshold: 100,
      slowCallRateThreshold: 50,
    });
    const events = listen(cb);
    await succeed(cb, 1, 100); // exactly the threshold: not slow
    await succeed(cb, 1, 101);
    await succeed(cb, 1, 0);
    expect(await cb.getState()).toBe('CLOSED');
    await succeed(cb, 1, 250);
    expect(await cb.getState()).toBe('OPEN');
    expect(typesOf(events).slice(-2)).toEqual(['SLOW_CALL_RATE_EXCEEDED', 'STATE_TRANSITION']);
    expect(events.at(-2)).toMatchObject({ slowCallRate: 50 });
    expect(events.at(-1)).toMatchObject({ reason: 'SLOW_CALL_RATE', slowCallRate: 50, failureRate: 0 });
    expect(await cb.getMetrics()).toMatchObject({
      numberOfSlowCalls: 2,
      numberOfSlowSuccessfulCalls: 2,
      numberOfSlowFailedCalls: 0,
      slowCallRate: 50,
    });
  });

  it('a slow failure counts as failed and as slow', async () => {
    const cb = make({ slidingWindowSize: 10, minimumNumberOfCalls: 10, slowCallDurationThreshold: 10 });
    await fail(cb, 1, 11);
    expect(await cb.getMetrics()).toMatchObject({
      numberOfFailedCalls: 1,
      numberOfSlowCalls: 1,
      numberOfSlowFailedCalls: 1,
      numberOfSlowSuccessfulCalls: 0,
    });
  });

  it('reports both exceeded rates when both are met', async () => {
    const cb = make({
      slidingWindowSize: 2,
      minimumNumberOfCalls: 2,
      slowCallDurationThreshold: 10,
      slowCallRateThreshold: 50,
    });
    const events = listen(cb);
    await fail(cb, 2, 20);
    expect(typesOf(events).slice(-3)).toEqual([
      'FAILURE_RATE_EXCEEDED',
      'SLOW_CALL_RATE_EXCEEDED',
      'STATE_TRANSITION',
    ]);
    expect(events.at(-1)).toMatchObject({ reason: 'FAILURE_RATE' });
  });

  it('opens on failureCountThreshold, ungated by the minimum (10 failures in 60 s)', async () => {
    const cb = make({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 60,
      minimumNumberOfCalls: 100,
      failureCountThreshold: 10,
    });
    const events = listen(cb);
    await succeed(cb, 30);
    await fail(cb, 9);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
    expect(events.at(-1)).toMatchObject({ type: 'STATE_TRANSITION', reason: 'FAILURE_COUNT' });
  });

  it('failureCountThreshold only counts failures still in the window', async () => {
    const cb = make({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 60,
      minimumNumberOfCalls: 100,
      failureCountThreshold: 10,
    });
    await fail(cb, 9);
    clock.advance(60_000);
    await fail(cb, 9);
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(9);
  });

  it('opens after consecutiveFailureThreshold failures in a row', async () => {
    const cb = make({ consecutiveFailureThreshold: 5 });
    const events = listen(cb);
    await fail(cb, 4);
    await succeed(cb); // resets the run
    await fail(cb, 4);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
    expect(events.at(-1)).toMatchObject({ type: 'STATE_TRANSITION', reason: 'CONSECUTIVE_FAILURES' });
  });

  it('ignored errors leave the consecutive-failure count alone', async () => {
    const cb = make({ consecutiveFailureThreshold: 3, ignoreExceptions: [IgnoredError] });
    await fail(cb, 2);
    await fail(cb, 3, 0, new IgnoredError('ignored'));
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('the consecutive-failure count restarts at 0 on entering CLOSED', async () => {
    const cb = make({ consecutiveFailureThreshold: 3 });
    await fail(cb, 2);
    await cb.transitionToOpenState();
    await cb.transitionToClosedState();
    await fail(cb, 2);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('the consecutive-failure count is independent of the window', async () => {
    const cb = make({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 1,
      minimumNumberOfCalls: 1,
      failureRateThreshold: 100,
      consecutiveFailureThreshold: 3,
      ignoreExceptions: [IgnoredError],
    });
    // Failures far apart never share the 1 s window, yet they are still in a row.
    await fail(cb, 1, 0, new IgnoredError('not a failure'));
    expect(await cb.getState()).toBe('CLOSED');
    await cb.onError(0, new BoomError('1')); // 100% of a window of one: trips on the rate
    expect(await cb.getState()).toBe('OPEN');
    const run = make({
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 1,
      minimumNumberOfCalls: 100,
      consecutiveFailureThreshold: 3,
    });
    for (let i = 0; i < 2; i++) {
      await fail(run);
      clock.advance(10_000);
      expect((await run.getMetrics()).numberOfBufferedCalls).toBe(0);
    }
    await fail(run);
    expect(await run.getState()).toBe('OPEN');
    expect((await run.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('checks rates first, then the failure count, then the consecutive count', async () => {
    const a = make({
      slidingWindowSize: 4,
      minimumNumberOfCalls: 4,
      failureCountThreshold: 4,
      consecutiveFailureThreshold: 4,
    });
    const aEvents = listen(a);
    await fail(a, 4);
    expect(transitionEvents(aEvents)[0].reason).toBe('FAILURE_RATE');

    const b = make({ minimumNumberOfCalls: 100, failureCountThreshold: 3, consecutiveFailureThreshold: 3 });
    const bEvents = listen(b);
    await fail(b, 3);
    expect(transitionEvents(bEvents)[0].reason).toBe('FAILURE_COUNT');
  });
});

// ====================================================================== minimumNumberOfCalls

describe('minimumNumberOfCalls', () => {
  it('gates the rate thresholds; rates read -1 below it', async () => {
    const cb = make({ slidingWindowSize: 10, minimumNumberOfCalls: 5 });
    await fail(cb, 4);
    expect(await cb.getState()).toBe('CLOSED');
    expect(await cb.getMetrics()).toMatchObject({
      failureRate: -1,
      slowCallRate: -1,
      numberOfFailedCalls: 4,
    });
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('is capped at the window size for COUNT_BASED', async () => {
    const cb = make({ slidingWindowSize: 3, minimumNumberOfCalls: 100 });
    expect(cb.config.closedMinimumCalls).toBe(3);
    await succeed(cb);
    await fail(cb, 2);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('is not capped for TIME_BASED (the window holds any number of calls)', async () => {
    const cb = make({ slidingWindowType: 'TIME_BASED', slidingWindowSize: 2, minimumNumberOfCalls: 5 });
    await fail(cb, 4);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('does not gate the absolute and consecutive thresholds', async () => {
    const count = make({ minimumNumberOfCalls: 100, failureCountThreshold: 2 });
    await fail(count, 2);
    expect(await count.getState()).toBe('OPEN');
    const run = make({ minimumNumberOfCalls: 100, consecutiveFailureThreshold: 2 });
    await fail(run, 2);
    expect(await run.getState()).toBe('OPEN');
  });
});

// ====================================================================== TIME_BASED window

describe('TIME_BASED window', () => {
  const config: CircuitBreakerConfig = {
    slidingWindowType: 'TIME_BASED',
    slidingWindowSize: 10,
    minimumNumberOfCalls: 3,
  };

  it('a call expires exactly when its second leaves the window', async () => {
    const cb = make(config);
    clock.advance(999); // second 0 of the window, at its very end
    await fail(cb);
    clock.set(T0 + 5_000);
    await succeed(cb);
    clock.set(T0 + 9_999);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(2);
    clock.set(T0 + 10_000); // second 10: second 0 has left a 10 s window
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 0 });
    clock.set(T0 + 15_000);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('failures that expired do not count towards a trip', async () => {
    const cb = make(config);
    await fail(cb, 2);
    clock.advance(10_000);
    await fail(cb);
    expect(await cb.getState()).toBe('CLOSED');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, failureRate: -1 });
  });

  it('rates decay on read, without any call', async () => {
    const cb = make({ ...config, minimumNumberOfCalls: 2, failureRateThreshold: 60 });
    await fail(cb);
    await succeed(cb);
    clock.advance(4_000);
    await succeed(cb, 2);
    expect((await cb.getMetrics()).failureRate).toBe(25);
    clock.advance(6_000); // the first two expired
    expect(await cb.getMetrics()).toMatchObject({ failureRate: 0, numberOfBufferedCalls: 2 });
    clock.advance(4_000);
    expect(await cb.getMetrics()).toMatchObject({ failureRate: -1, numberOfBufferedCalls: 0 });
  });

  it.each([
    ['one window exactly', 10_000],
    ['a window and a half', 15_500],
    ['an hour', 3_600_000],
    ['ten years', TEN_YEARS],
    ['ten years and 3.5 s', TEN_YEARS + 3_500],
  ])('empties over a gap of %s and keeps counting correctly afterwards', async (_label, gap) => {
    const cb = make({ ...config, minimumNumberOfCalls: 5 });
    await fail(cb, 2);
    await succeed(cb, 2);
    clock.advance(gap);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0, numberOfFailedCalls: 0 });
    await fail(cb, 2);
    clock.advance(1_000);
    await succeed(cb);
    expect(await cb.getMetrics()).toMatchObject({
      numberOfBufferedCalls: 3,
      numberOfFailedCalls: 2,
      numberOfSuccessfulCalls: 1,
    });
    expect(await cb.getState()).toBe('CLOSED');
    clock.advance(9_000); // the two failures (one second earlier) expire, the success stays
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 0 });
  });

  it('short gaps drop only the seconds that left the window', async () => {
    const cb = make({ ...config, minimumNumberOfCalls: 100 });
    for (let s = 0; s < 10; s++) {
      await fail(cb, s + 1); // second s holds s+1 failures
      clock.advance(1_000);
    }
    // now at second 10: second 0 left; seconds 1..9 hold 2+...+10 = 54
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(54);
    clock.advance(3_000); // second 13: seconds 4..9 remain = 5+...+10 = 45
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(45);
  });
});

// ====================================================================== OPEN

describe('OPEN', () => {
  it('refuses calls until openedAt + wait, then the first call half-opens it', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    const events = listen(cb);
    clock.advance(999);
    const error = await cb
      .execute(() => 'x')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CallNotPermittedError);
    expect(error).toMatchObject({ name: 'CallNotPermittedError', circuitBreakerName: 'cb', state: 'OPEN' });
    expect(events).toEqual([
      { kind: 'circuitbreaker', type: 'NOT_PERMITTED', name: 'cb', at: T0 + 999, state: 'OPEN' },
    ]);
    expect((await cb.getMetrics()).numberOfNotPermittedCalls).toBe(1);
    clock.advance(1);
    await succeed(cb);
    expect(transitionEvents(events)[0]).toMatchObject({
      from: 'OPEN',
      to: 'HALF_OPEN',
      reason: 'WAIT_ELAPSED',
      at: T0 + 1000,
    });
  });

  it('stays OPEN past the wait until something asks (no automatic transition)', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    clock.advance(50_000);
    expect(await cb.getState()).toBe('OPEN');
  });

  it('getMetrics() reports the window that tripped it', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4 });
    await succeed(cb, 2);
    await fail(cb, 2);
    await refused(cb);
    expect(await cb.getMetrics()).toEqual({
      failureRate: 50,
      slowCallRate: 0,
      numberOfBufferedCalls: 4,
      numberOfFailedCalls: 2,
      numberOfSlowCalls: 0,
      numberOfSlowSuccessfulCalls: 0,
      numberOfSlowFailedCalls: 0,
      numberOfSuccessfulCalls: 2,
      numberOfNotPermittedCalls: 1,
    });
  });

  it('waitIntervalFunctionInOpenState grows with consecutive openings and restarts after CLOSED', async () => {
    const attempts: number[] = [];
    const cb = make({
      slidingWindowSize: 2,
      minimumNumberOfCalls: 2,
      permittedNumberOfCallsInHalfOpenState: 1,
      waitIntervalFunctionInOpenState: (attempt) => {
        attempts.push(attempt);
        return 1000 * 2 ** (attempt - 1);
      },
    });
    const expectWait = async (ms: number) => {
      clock.advance(ms - 1);
      await refused(cb);
      clock.advance(1);
      expect(await cb.tryAcquirePermission()).toBe(true);
      expect(await cb.getState()).toBe('HALF_OPEN');
    };
    await fail(cb, 2);
    await expectWait(1000);
    await cb.onError(0, new BoomError('probe failed'));
    await expectWait(2000);
    await cb.onError(0, new BoomError('probe failed'));
    await expectWait(4000);
    await cb.onSuccess(0);
    expect(await cb.getState()).toBe('CLOSED');
    await fail(cb, 2);
    await expectWait(1000);
    expect(attempts).toEqual([1, 2, 3, 1]);
  });

  it('an interval function that throws or returns garbage falls back to waitDurationInOpenState default', async () => {
    const cb = make({
      slidingWindowSize: 2,
      minimumNumberOfCalls: 2,
      waitIntervalFunctionInOpenState: () => {
        throw new Error('bad interval function');
      },
    });
    await fail(cb, 2);
    clock.advance(59_999);
    await refused(cb);
    clock.advance(1);
    await succeed(cb);
  });
});

// ====================================================================== HALF_OPEN

describe('HALF_OPEN', () => {
  async function halfOpen(config: CircuitBreakerConfig): Promise<CircuitBreaker> {
    const cb = make({ waitDurationInOpenState: 1000, ...config });
    await cb.transitionToOpenState();
    clock.advance(1000);
    return cb;
  }

  it('admits exactly the permitted number of probes; the next is refused', async () => {
    const cb = await halfOpen({ permittedNumberOfCallsInHalfOpenState: 3 });
    const events = listen(cb);
    const probes = [deferred(), deferred(), deferred()];
    const running = probes.map((d) => cb.execute(() => d.promise));
    expect(await cb.getState()).toBe('HALF_OPEN');
    await refused(cb, 'HALF_OPEN');
    expect(await cb.tryAcquirePermission()).toBe(false);
    expect(events.filter((e) => e.type === 'NOT_PERMITTED')).toMatchObject([
      { state: 'HALF_OPEN' },
      { state: 'HALF_OPEN' },
    ]);
    for (const d of probes) d.resolve('ok');
    await Promise.all(running);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('starts a fresh window sized to the permitted calls', async () => {
    const cb = make({ ...SMALL, slidingWindowSize: 10, minimumNumberOfCalls: 2 });
    await fail(cb, 2);
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0, numberOfNotPermittedCalls: 0 });
    await cb.onSuccess(0);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, failureRate: -1 });
  });

  it("'rate' decides once the permitted calls are in: below the threshold closes", async () => {
    const cb = await halfOpen({ permittedNumberOfCallsInHalfOpenState: 4 });
    const events = listen(cb);
    await succeed(cb, 2);
    await fail(cb);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb);
    expect(await cb.getState()).toBe('CLOSED');
    expect(transitionEvents(events).at(-1)).toMatchObject({
      from: 'HALF_OPEN',
      to: 'CLOSED',
      reason: 'HALF_OPEN_PASSED',
      failureRate: 25,
    });
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it("'rate' at the threshold reopens", async () => {
    const cb = await halfOpen({ permittedNumberOfCallsInHalfOpenState: 4 });
    const events = listen(cb);
    await succeed(cb, 2);
    await fail(cb, 2);
    expect(await cb.getState()).toBe('OPEN');
    expect(typesOf(events).slice(-2)).toEqual(['FAILURE_RATE_EXCEEDED', 'STATE_TRANSITION']);
    expect(transitionEvents(events).at(-1)).toMatchObject({ from: 'HALF_OPEN', reason: 'FAILURE_RATE' });
    // getMetrics in OPEN reports the half-open window that decided it
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, numberOfFailedCalls: 2 });
  });

  it("'rate' uses min(minimumNumberOfCalls, permitted) as its minimum", async () => {
    const cb = await halfOpen({ permittedNumberOfCallsInHalfOpenState: 4, minimumNumberOfCalls: 2 });
    await fail(cb);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb);
    expect(await cb.getState()).toBe('OPEN');
  });

  it("'rate' reopens on the slow-call rate", async () => {
    const cb = await halfOpen({
      permittedNumberOfCallsInHalfOpenState: 2,
      slowCallDurationThreshold: 10,
      slowCallRateThreshold: 100,
    });
    const events = listen(cb);
    await succeed(cb, 2, 11);
    expect(await cb.getState()).toBe('OPEN');
    expect(transitionEvents(events).at(-1)).toMatchObject({ reason: 'SLOW_CALL_RATE', slowCallRate: 100 });
  });

  it('the CLOSED thresholds do not apply in HALF_OPEN', async () => {
    const cb = await halfOpen({
      permittedNumberOfCallsInHalfOpenState: 4,
      consecutiveFailureThreshold: 1,
      failureCountThreshold: 1,
    });
    await fail(cb);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb, 3);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it("'successes' closes after N successes, slow ones included", async () => {
    const cb = await halfOpen({
      permittedNumberOfCallsInHalfOpenState: 3,
      halfOpenPolicy: 'successes',
      successThresholdInHalfOpenState: 2,
      slowCallDurationThreshold: 10,
      slowCallRateThreshold: 1,
    });
    const events = listen(cb);
    await succeed(cb, 1, 50);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb, 1, 50);
    expect(await cb.getState()).toBe('CLOSED');
    expect(transitionEvents(events).at(-1)).toMatchObject({ reason: 'HALF_OPEN_PASSED' });
  });

  it("'successes' reopens on the first failure", async () => {
    const cb = await halfOpen({
      permittedNumberOfCallsInHalfOpenState: 3,
      halfOpenPolicy: 'successes',
      successThresholdInHalfOpenState: 2,
    });
    const events = listen(cb);
    await succeed(cb);
    await fail(cb);
    expect(await cb.getState()).toBe('OPEN');
    expect(transitionEvents(events).at(-1)).toMatchObject({ reason: 'HALF_OPEN_FAILURE' });
  });

  it("'successes' ignores ignored errors and gives their permit back", async () => {
    const cb = await halfOpen({
      permittedNumberOfCallsInHalfOpenState: 1,
      halfOpenPolicy: 'successes',
      ignoreExceptions: [IgnoredError],
    });
    await fail(cb, 3, 0, new IgnoredError('ignored'));
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('successThresholdInHalfOpenState defaults to the permitted number', async () => {
    const cb = await halfOpen({ permittedNumberOfCallsInHalfOpenState: 3, halfOpenPolicy: 'successes' });
    expect(cb.config.successThresholdInHalfOpenState).toBe(3);
    await succeed(cb, 2);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('maxWaitDurationInHalfOpenState leads to OPEN, timestamped at the due time', async () => {
    const cb = make({ ...SMALL, maxWaitDurationInHalfOpenState: 5000 });
    await fail(cb, 2);
    clock.advance(1000);
    const hung = deferred();
    const probe = cb.execute(() => hung.promise); // half-opens at T0 + 1000
    const events = listen(cb);
    clock.advance(5000 + 700);
    expect(await cb.getState()).toBe('OPEN');
    expect(transitionEvents(events)).toMatchObject([
      { from: 'HALF_OPEN', to: 'OPEN', reason: 'HALF_OPEN_TIMEOUT', at: T0 + 6000 },
    ]);
    // The new wait counts from the due time, not from when it was noticed.
    clock.set(T0 + 6000 + 999);
    await refused(cb);
    clock.set(T0 + 7000);
    expect(await cb.tryAcquirePermission()).toBe(true);
    // The hung probe's late success changes nothing.
    hung.resolve('late');
    await probe;
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('maxWaitDurationInHalfOpenState leads to CLOSED when configured so, at the due time', async () => {
    const cb = make({
      ...SMALL,
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 10,
      maxWaitDurationInHalfOpenState: 5000,
      transitionToStateAfterWaitDuration: 'CLOSED',
    });
    await fail(cb, 2);
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true);
    const events = listen(cb);
    clock.advance(20_000);
    expect(await cb.getState()).toBe('CLOSED');
    expect(transitionEvents(events)).toMatchObject([
      { from: 'HALF_OPEN', to: 'CLOSED', reason: 'HALF_OPEN_TIMEOUT', at: T0 + 6000 },
    ]);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('the max wait counts from entering HALF_OPEN; a decision before it cancels it', async () => {
    const cb = make({ ...SMALL, maxWaitDurationInHalfOpenState: 5000 });
    await fail(cb, 2);
    clock.advance(1000);
    await succeed(cb, 2);
    expect(await cb.getState()).toBe('CLOSED');
    clock.advance(10_000);
    expect(await cb.getState()).toBe('CLOSED');
  });
});

// ====================================================================== automatic transition

describe('automaticTransitionFromOpenToHalfOpenEnabled', () => {
  const auto: CircuitBreakerConfig = { ...SMALL, automaticTransitionFromOpenToHalfOpenEnabled: true };

  it('lazily: a read after the wait sees HALF_OPEN, entered at exactly openedAt + wait', async () => {
    const cb = make(auto);
    await fail(cb, 2);
    const events = listen(cb);
    clock.advance(999);
    expect(await cb.getState()).toBe('OPEN');
    clock.advance(4001);
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect(transitionEvents(events)).toMatchObject([
      { from: 'OPEN', to: 'HALF_OPEN', reason: 'WAIT_ELAPSED', at: T0 + 1000 },
    ]);
  });

  it('lazily chains OPEN -> HALF_OPEN -> OPEN at their due times when maxWait also elapsed', async () => {
    const cb = make({ ...auto, maxWaitDurationInHalfOpenState: 2000 });
    await fail(cb, 2);
    const events = listen(cb);
    clock.advance(1000 + 2000 + 500);
    expect(await cb.getState()).toBe('OPEN');
    expect(transitionEvents(events).map((e) => [e.from, e.to, e.at])).toEqual([
      ['OPEN', 'HALF_OPEN', T0 + 1000],
      ['HALF_OPEN', 'OPEN', T0 + 3000],
    ]);
    // ...and the wait of that second opening also ran from its due time
    clock.set(T0 + 4000);
    expect(await cb.getState()).toBe('HALF_OPEN');
  });

  it('with a timer: the transition and its event happen without any call', async () => {
    vi.useFakeTimers({ now: T0 });
    const cb = CircuitBreaker.of(
      'auto',
      { ...auto, waitDurationInOpenState: 60_000 },
      { clock: { now: () => Date.now() } },
    );
    await fail(cb, 2);
    const events = listen(cb);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(transitionEvents(events)).toMatchObject([
      { from: 'OPEN', to: 'HALF_OPEN', reason: 'WAIT_ELAPSED', at: T0 + 60_000 },
    ]);
    cb.close();
  });

  it('with a timer: maxWaitDurationInHalfOpenState ends HALF_OPEN without any call', async () => {
    vi.useFakeTimers({ now: T0 });
    const cb = CircuitBreaker.of(
      'auto',
      { ...auto, maxWaitDurationInHalfOpenState: 5000 },
      { clock: { now: () => Date.now() } },
    );
    await fail(cb, 2);
    const events = listen(cb);
    await vi.advanceTimersByTimeAsync(1000 + 5000);
    expect(transitionEvents(events).map((e) => [e.from, e.to, e.at])).toEqual([
      ['OPEN', 'HALF_OPEN', T0 + 1000],
      ['HALF_OPEN', 'OPEN', T0 + 6000],
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(transitionsOf(events).at(-1)).toBe('OPEN->HALF_OPEN');
    cb.close();
  });

  it('maxWaitDurationInHalfOpenState has its timer even without automatic transition from OPEN', async () => {
    vi.useFakeTimers({ now: T0 });
    const cb = CircuitBreaker.of(
      'maxwait',
      { ...SMALL, maxWaitDurationInHalfOpenState: 5000 },
      { clock: { now: () => Date.now() } },
    );
    await cb.transitionToOpenState();
    await cb.transitionToHalfOpenState();
    const events = listen(cb);
    await vi.advanceTimersByTimeAsync(5000);
    expect(transitionEvents(events)).toMatchObject([{ from: 'HALF_OPEN', to: 'OPEN', at: T0 + 5000 }]);
    cb.close();
  });

  it('a timer that fires before the clock reaches the due time tries again', async () => {
    // Node timers run on a monotonic clock cached per loop turn; the wall clock a breaker reads
    // can lag it by a millisecond or more, so a timer may fire "early". It must not be lost.
    vi.useFakeTimers({ now: T0 });
    const cb = make({ ...auto, waitDurationInOpenState: 1000 });
    await fail(cb, 2);
    const events = listen(cb);
    clock.advance(998); // the breaker's clock lags the timer by 2 ms
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toEqual([]);
    clock.advance(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(transitionEvents(events)).toMatchObject([{ from: 'OPEN', to: 'HALF_OPEN', at: T0 + 1000 }]);
    cb.close();
  });

  it('close() stops the timer', async () => {
    vi.useFakeTimers({ now: T0 });
    const cb = CircuitBreaker.of('closing', auto, { clock: { now: () => Date.now() } });
    await fail(cb, 2);
    const events = listen(cb);
    cb.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ====================================================================== error classification

describe('recordExceptions / ignoreExceptions / recordResult', () => {
  const counting: CircuitBreakerConfig = { slidingWindowSize: 10, minimumNumberOfCalls: 10 };

  it('every error is a failure by default, whatever was thrown', async () => {
    const cb = make(counting);
    await fail(cb, 1, 0, new TypeError('t'));
    await fail(cb, 1, 0, 'a string');
    await fail(cb, 1, 0, undefined);
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(3);
  });

  it('recordExceptions as classes: matching errors fail, others succeed (neither => success)', async () => {
    const cb = make({ ...counting, recordExceptions: [RecordedError] });
    const events = listen(cb);
    await fail(cb, 1, 0, new RecordedError('r'));
    await fail(cb, 1, 0, new TypeError('not recorded'));
    await fail(cb, 1, 0, 'not an error at all');
    expect(typesOf(events)).toEqual(['ERROR', 'SUCCESS', 'SUCCESS']);
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 2 });
  });

  it('recordExceptions matches subclasses', async () => {
    class SubRecorded extends RecordedError {}
    const cb = make({ ...counting, recordExceptions: [RecordedError] });
    await fail(cb, 1, 0, new SubRecorded('sub'));
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('recordExceptions as a predicate', async () => {
    const cb = make({ ...counting, recordExceptions: (e) => (e as { code?: number })?.code === 503 });
    await fail(cb, 1, 0, { code: 503 });
    await fail(cb, 1, 0, { code: 404 });
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 1 });
  });

  it('ignoreExceptions as classes: neither failure nor success, the caller still gets the error', async () => {
    const cb = make({ ...counting, ignoreExceptions: [IgnoredError] });
    const events = listen(cb);
    const error = new IgnoredError('ignored');
    await fail(cb, 1, 5, error);
    expect(events).toEqual([
      { kind: 'circuitbreaker', type: 'IGNORED_ERROR', name: 'cb', at: T0 + 5, durationMs: 5, error },
    ]);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('ignoreExceptions as a predicate', async () => {
    const cb = make({ ...counting, ignoreExceptions: (e) => e === 'ignore me' });
    await fail(cb, 1, 0, 'ignore me');
    await fail(cb, 1, 0, 'count me');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 1 });
  });

  it('ignore wins over record', async () => {
    const cb = make({ ...counting, recordExceptions: [Error], ignoreExceptions: [IgnoredError] });
    await fail(cb, 1, 0, new IgnoredError('both'));
    await fail(cb, 1, 0, new BoomError('record'));
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfFailedCalls: 1 });
    const byPredicate = make({ ...counting, recordExceptions: () => true, ignoreExceptions: () => true });
    await fail(byPredicate);
    expect((await byPredicate.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('recordResult turns a result into a failure; the caller still gets the result', async () => {
    const cb = make({ ...counting, recordResult: (r) => (r as { status: number }).status >= 500 });
    const events = listen(cb);
    await expect(cb.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await expect(cb.execute(() => ({ status: 200 }))).resolves.toEqual({ status: 200 });
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 1 });
    expect(typesOf(events)).toEqual(['ERROR', 'SUCCESS']);
    const error = (events[0] as Extract<CircuitBreakerEvent, { type: 'ERROR' }>).error;
    expect(error).toBeInstanceOf(ResultRecordedAsFailureError);
    expect(error).toMatchObject({ circuitBreakerName: 'cb', result: { status: 503 } });
  });

  it('recordResult can open the breaker', async () => {
    const cb = make({ ...SMALL, recordResult: (r) => r === null });
    await cb.execute(() => null);
    await cb.execute(() => null);
    expect(await cb.getState()).toBe('OPEN');
  });

  const throwing = () => {
    throw new Error('predicate bug');
  };
  it.each([
    ['ignoreExceptions', { ignoreExceptions: throwing }, 'error'],
    ['recordExceptions', { recordExceptions: throwing }, 'error'],
    ['recordResult', { recordResult: throwing }, 'result'],
  ] as const)(
    'a throwing %s predicate counts as a failure and never leaks a permit',
    async (_n, extra, kind) => {
      const cb = make({
        ...SMALL,
        permittedNumberOfCallsInHalfOpenState: 1,
        minimumNumberOfCalls: 1,
        ...extra,
      });
      await cb.transitionToOpenState();
      clock.advance(1000);
      const run = () =>
        kind === 'error'
          ? expect(cb.execute(() => Promise.reject(new BoomError('x')))).rejects.toThrow('x')
          : expect(cb.execute(() => 'value')).resolves.toBe('value');
      await run();
      expect(await cb.getState()).toBe('OPEN'); // the probe was consumed as a failure
      clock.advance(1000);
      await run(); // and the next half-open admits a probe again
      expect(await cb.getState()).toBe('OPEN');
    },
  );
});

// ====================================================================== passive states

describe('DISABLED, FORCED_OPEN, METRICS_ONLY', () => {
  it('DISABLED permits everything, records nothing and publishes no call events', async () => {
    const cb = make(SMALL);
    const events = listen(cb);
    await cb.transitionToDisabledState();
    await fail(cb, 10);
    await succeed(cb, 10, 100_000);
    expect(await cb.getState()).toBe('DISABLED');
    expect(typesOf(events)).toEqual(['STATE_TRANSITION', 'DISABLED']);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0, numberOfNotPermittedCalls: 0 });
    await cb.transitionToClosedState();
    await fail(cb);
    expect(typesOf(events).at(-1)).toBe('ERROR');
  });

  it('FORCED_OPEN refuses everything, forever, without NOT_PERMITTED events', async () => {
    const cb = make(SMALL);
    const events = listen(cb);
    await cb.transitionToForcedOpenState();
    expect(typesOf(events)).toEqual(['STATE_TRANSITION', 'FORCED_OPEN']);
    await refused(cb, 'FORCED_OPEN');
    clock.advance(TEN_YEARS);
    await refused(cb, 'FORCED_OPEN');
    expect(await cb.tryAcquirePermission()).toBe(false);
    await expect(cb.acquirePermission()).rejects.toMatchObject({ state: 'FORCED_OPEN' });
    expect(await cb.getState()).toBe('FORCED_OPEN');
    expect(typesOf(events)).toEqual(['STATE_TRANSITION', 'FORCED_OPEN']);
    expect((await cb.getMetrics()).numberOfNotPermittedCalls).toBe(4);
  });

  it('METRICS_ONLY permits and records everything, reports an exceeded rate once, never opens', async () => {
    const cb = make({ ...SMALL, slidingWindowSize: 4, minimumNumberOfCalls: 4 });
    await cb.transitionToMetricsOnlyState();
    const events = listen(cb);
    await fail(cb, 10);
    expect(await cb.getState()).toBe('METRICS_ONLY');
    expect(typesOf(events).filter((t) => t === 'ERROR')).toHaveLength(10);
    expect(typesOf(events).filter((t) => t === 'FAILURE_RATE_EXCEEDED')).toHaveLength(1);
    expect(typesOf(events)).not.toContain('STATE_TRANSITION');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, failureRate: 100 });
  });

  it('reset() publishes RESET even in DISABLED and FORCED_OPEN', async () => {
    const cb = make(SMALL);
    await cb.transitionToForcedOpenState();
    const events = listen(cb);
    await cb.reset();
    expect(typesOf(events)).toEqual(['STATE_TRANSITION', 'RESET']);
  });
});

// ====================================================================== reset

describe('reset()', () => {
  it('from OPEN: back to CLOSED with an empty window; STATE_TRANSITION then RESET', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    await refused(cb);
    clock.advance(5);
    const events = listen(cb);
    await cb.reset();
    expect(await cb.getState()).toBe('CLOSED');
    expect(events).toMatchObject([
      { type: 'STATE_TRANSITION', from: 'OPEN', to: 'CLOSED', reason: 'RESET', at: T0 + 5 },
      { type: 'RESET', at: T0 + 5 },
    ]);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 0, numberOfNotPermittedCalls: 0 });
    await succeed(cb);
  });

  it('from CLOSED: clears the window and the consecutive count; only RESET is published', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4, consecutiveFailureThreshold: 3 });
    await fail(cb, 2);
    const events = listen(cb);
    await cb.reset();
    expect(typesOf(events)).toEqual(['RESET']);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    await fail(cb, 2);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('restarts the wait interval function', async () => {
    const attempts: number[] = [];
    const cb = make({
      ...SMALL,
      waitDurationInOpenState: undefined,
      waitIntervalFunctionInOpenState: (n) => {
        attempts.push(n);
        return 1000;
      },
    });
    await cb.transitionToOpenState();
    await cb.transitionToHalfOpenState();
    await cb.transitionToOpenState();
    await cb.reset();
    await cb.transitionToOpenState();
    expect(attempts).toEqual([1, 2, 1]);
  });
});

// ====================================================================== metrics

describe('getMetrics()', () => {
  it('reports every field', async () => {
    const cb = make({
      slidingWindowSize: 10,
      minimumNumberOfCalls: 5,
      slowCallDurationThreshold: 100,
      failureRateThreshold: 90,
      slowCallRateThreshold: 90,
    });
    expect(await cb.getMetrics()).toEqual({
      failureRate: -1,
      slowCallRate: -1,
      numberOfBufferedCalls: 0,
      numberOfFailedCalls: 0,
      numberOfSlowCalls: 0,
      numberOfSlowSuccessfulCalls: 0,
      numberOfSlowFailedCalls: 0,
      numberOfSuccessfulCalls: 0,
      numberOfNotPermittedCalls: 0,
    });
    await succeed(cb, 2);
    await succeed(cb, 1, 200);
    await fail(cb, 1);
    await fail(cb, 1, 300);
    await fail(cb, 1, 0, new IgnoredError('not counted')); // counted: no ignoreExceptions configured
    expect(await cb.getMetrics()).toEqual({
      failureRate: 50,
      slowCallRate: (2 * 100) / 6,
      numberOfBufferedCalls: 6,
      numberOfFailedCalls: 3,
      numberOfSlowCalls: 2,
      numberOfSlowSuccessfulCalls: 1,
      numberOfSlowFailedCalls: 1,
      numberOfSuccessfulCalls: 3,
      numberOfNotPermittedCalls: 0,
    });
  });

  it('counts refused calls while OPEN and starts over in HALF_OPEN', async () => {
    const cb = make(SMALL);
    await fail(cb, 2);
    await refused(cb);
    await refused(cb);
    expect((await cb.getMetrics()).numberOfNotPermittedCalls).toBe(2);
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect((await cb.getMetrics()).numberOfNotPermittedCalls).toBe(0);
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.tryAcquirePermission()).toBe(false);
    expect((await cb.getMetrics()).numberOfNotPermittedCalls).toBe(1);
  });
});

// ====================================================================== late results

describe('late results', () => {
  it('a call admitted in CLOSED that ends after OPEN and HALF_OPEN does not count in the half-open window', async () => {
    const cb = make({ ...SMALL, permittedNumberOfCallsInHalfOpenState: 2 });
    const slow = deferred();
    const late = cb.execute(() => slow.promise); // admitted in CLOSED
    await fail(cb, 2);
    expect(await cb.getState()).toBe('OPEN');
    clock.advance(1000);
    expect(await cb.tryAcquirePermission()).toBe(true); // HALF_OPEN, one probe out
    slow.reject(new BoomError('late failure'));
    await expect(late).rejects.toThrow('late failure');
    expect(await cb.getState()).toBe('HALF_OPEN');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    // The half-open window still decides on its own two probes.
    await cb.onSuccess(0);
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onSuccess(0);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('a late result does not touch the window that tripped the breaker', async () => {
    const cb = make({ slidingWindowSize: 4, minimumNumberOfCalls: 4 });
    const slow = deferred();
    const late = cb.execute(() => slow.promise);
    await fail(cb, 4);
    const before = await cb.getMetrics();
    slow.resolve('done');
    await late;
    expect(await cb.getMetrics()).toEqual(before);
  });

  it('a late result from a previous CLOSED period does not count in the new CLOSED window', async () => {
    const cb = make({ slidingWindowSize: 2, minimumNumberOfCalls: 2 });
    const slow = deferred();
    const late = cb.execute(() => slow.promise);
    await cb.transitionToOpenState();
    await cb.transitionToClosedState();
    await fail(cb);
    slow.reject(new BoomError('late'));
    await expect(late).rejects.toThrow('late');
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(1);
  });
});

// ====================================================================== manual API

describe('manual API', () => {
  it('tryAcquirePermission / onSuccess / onError drive the breaker like execute', async () => {
    const cb = make({
      ...SMALL,
      slidingWindowSize: 3,
      minimumNumberOfCalls: 3,
      slowCallDurationThreshold: 100,
    });
    const events = listen(cb);
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onSuccess(150);
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 1, numberOfSlowCalls: 1 });
    expect(events[0]).toMatchObject({ type: 'SUCCESS', durationMs: 150, at: T0 });
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onError(20, new BoomError('x'));
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onError(20, new BoomError('y'));
    expect(await cb.getState()).toBe('OPEN');
    expect(await cb.tryAcquirePermission()).toBe(false);
    expect(typesOf(events).at(-1)).toBe('NOT_PERMITTED');
  });

  it('acquirePermission throws CallNotPermittedError when refused', async () => {
    const cb = make(SMALL, 'manual');
    await expect(cb.acquirePermission()).resolves.toBeUndefined();
    await cb.transitionToOpenState();
    const error = await cb.acquirePermission().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CallNotPermittedError);
    expect(error).toMatchObject({ circuitBreakerName: 'manual', state: 'OPEN' });
  });

  it('onSuccess applies recordResult', async () => {
    const cb = make({ slidingWindowSize: 10, recordResult: (r) => r === 'bad' });
    const events = listen(cb);
    await cb.onSuccess(1, 'bad');
    await cb.onSuccess(1, 'good');
    expect(await cb.getMetrics()).toMatchObject({ numberOfFailedCalls: 1, numberOfSuccessfulCalls: 1 });
    expect(typesOf(events)).toEqual(['ERROR', 'SUCCESS']);
  });

  it('onError classifies the error; an ignored one gives a half-open permit back', async () => {
    const cb = make({ ...SMALL, permittedNumberOfCallsInHalfOpenState: 1, ignoreExceptions: [IgnoredError] });
    await driveTo(cb, 'HALF_OPEN');
    await cb.acquirePermission();
    expect(await cb.tryAcquirePermission()).toBe(false);
    await cb.onError(0, new IgnoredError('ignored'));
    expect(await cb.tryAcquirePermission()).toBe(true);
    await cb.onError(0, new BoomError('counted'));
    expect(await cb.getState()).toBe('OPEN');
  });

  it('releasePermission returns an unused half-open permit', async () => {
    const cb = make({ ...SMALL, permittedNumberOfCallsInHalfOpenState: 1 });
    await driveTo(cb, 'HALF_OPEN');
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.tryAcquirePermission()).toBe(false);
    await cb.releasePermission();
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
  });

  it('releasePermission never hands out more than the permitted probes', async () => {
    const cb = make({ ...SMALL, permittedNumberOfCallsInHalfOpenState: 2 });
    await driveTo(cb, 'HALF_OPEN');
    await cb.releasePermission();
    await cb.releasePermission();
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.tryAcquirePermission()).toBe(true);
    expect(await cb.tryAcquirePermission()).toBe(false);
  });
});

// ====================================================================== execute / decorate

describe('execute and decorate', () => {
  it('decorate keeps the arguments and the return type', async () => {
    const cb = make();
    const add = cb.decorate((a: number, b: string) => `${a}:${b}`);
    expectTypeOf(add).toEqualTypeOf<(a: number, b: string) => Promise<string>>();
    await expect(add(1, 'x')).resolves.toBe('1:x');
    const asyncFn = cb.decorate(async (xs: readonly number[]) => xs.length);
    expectTypeOf(asyncFn).toEqualTypeOf<(xs: readonly number[]) => Promise<number>>();
    await expect(asyncFn([1, 2, 3])).resolves.toBe(3);
    const none = cb.decorate(() => undefined);
    expectTypeOf(none).toEqualTypeOf<() => Promise<undefined>>();
    await expect(none()).resolves.toBeUndefined();
    expect((await cb.getMetrics()).numberOfSuccessfulCalls).toBe(3);
  });

  it('a decorated function goes through the breaker', async () => {
    const cb = make(SMALL);
    const fn = vi.fn(async (n: number) => {
      if (n < 0) throw new BoomError('negative');
      return n * 2;
    });
    const decorated = cb.decorate(fn);
    await expect(decorated(-1)).rejects.toThrow('negative');
    await expect(decorated(-2)).rejects.toThrow('negative');
    await expect(decorated(4)).rejects.toBeInstanceOf(CallNotPermittedError);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('the supplier receives an AbortSignal (one that never fires when the caller gave none)', async () => {
    const cb = make();
    const seen: AbortSignal[] = [];
    await cb.execute((signal) => {
      seen.push(signal);
      return 1;
    });
    const controller = new AbortController();
    await cb.execute((signal) => {
      seen.push(signal);
      return 2;
    }, controller.signal);
    expect(seen[0]).toBeInstanceOf(AbortSignal);
    expect(seen[0].aborted).toBe(false);
    expect(seen[1]).toBe(controller.signal);
  });

  it('a supplier that throws synchronously is recorded like a rejection', async () => {
    const cb = make(SMALL);
    await expect(
      cb.execute(() => {
        throw new BoomError('sync');
      }),
    ).rejects.toThrow('sync');
    expect((await cb.getMetrics()).numberOfFailedCalls).toBe(1);
  });

  it('measures durations with the injected clock', async () => {
    const cb = make();
    const events = listen(cb);
    await succeed(cb, 1, 1234);
    expect(events[0]).toMatchObject({ type: 'SUCCESS', durationMs: 1234, at: T0 + 1234 });
  });
});

// ====================================================================== events

describe('events', () => {
  it('are not built when nobody listens', async () => {
    const emit = vi.spyOn(EventPublisher.prototype, 'emit');
    const cb = make({
      ...SMALL,
      slidingWindowSize: 3,
      minimumNumberOfCalls: 3,
      recordResult: (r) => r === 'bad',
    });
    await succeed(cb);
    await cb.execute(() => 'bad');
    await fail(cb); // trips: exceeded + transition
    await refused(cb);
    clock.advance(1000);
    await succeed(cb, 2);
    await cb.transitionToForcedOpenState();
    await cb.reset();
    expect(emit).not.toHaveBeenCalled();
    // ...and they are once someone does.
    const events = listen(cb);
    await succeed(cb);
    expect(emit).toHaveBeenCalledTimes(1);
    expect(events).toHaveLength(1);
  });

  it('a listener that throws does not break the call, and becomes a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const cb = make(SMALL);
    cb.onEvent(() => {
      throw new Error('listener bug');
    });
    const good = listen(cb);
    await fail(cb, 2);
    expect(await cb.getState()).toBe('OPEN');
    await refused(cb);
    expect(good.map((e) => e.type)).toContain('STATE_TRANSITION');
    expect(warn).toHaveBeenCalled();
    expect(String(warn.mock.calls[0][0])).toContain('listener bug');
  });

  it('on(type) listens to one type and the handle unsubscribes', async () => {
    const cb = make(SMALL);
    const transitions: string[] = [];
    const off = cb.on('STATE_TRANSITION', (e) => transitions.push(`${e.from}->${e.to}`));
    await fail(cb, 2);
    off();
    off(); // harmless twice
    await cb.reset();
    expect(transitions).toEqual(['CLOSED->OPEN']);
  });

  it('the same listener added twice is called twice and removed once per handle', async () => {
    const cb = make();
    const calls: string[] = [];
    const listener = (e: CircuitBreakerEvent) => calls.push(e.type);
    const off1 = cb.onEvent(listener);
    cb.onEvent(listener);
    await succeed(cb);
    off1();
    await succeed(cb);
    expect(calls).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  });
});

describe('construction', () => {
  it('CircuitBreaker.ofDefaults works without a store or a clock', async () => {
    const cb = CircuitBreaker.ofDefaults('defaults');
    expect(cb.name).toBe('defaults');
    await expect(cb.execute(() => 42)).resolves.toBe(42);
    expect(await cb.getState()).toBe('CLOSED');
  });

  it('rejects a bad name and a bad clock', () => {
    expect(() => CircuitBreaker.of('', {})).toThrow(/name/);
    expect(() => CircuitBreaker.of('x', {}, { clock: {} as never })).toThrow(/clock/);
  });
});

describe("rejections by Breakwater's own policies", () => {
  it.each([
    ['BulkheadFullError', () => new BulkheadFullError('bh')],
    ['RequestNotPermittedError', () => new RequestNotPermittedError('rl', 10)],
    ['CallNotPermittedError (an inner breaker)', () => new CallNotPermittedError('inner', 'OPEN')],
  ])('%s is ignored: it never reached the downstream', async (_label, make) => {
    const cb = CircuitBreaker.of('own', { slidingWindowSize: 2, minimumNumberOfCalls: 1 });
    const ignored: unknown[] = [];
    cb.on('IGNORED_ERROR', (e) => ignored.push(e.error));
    for (let i = 0; i < 5; i++) {
      await expect(
        cb.execute(() => {
          throw make();
        }),
      ).rejects.toBeDefined();
    }
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    expect(ignored).toHaveLength(5);
  });
});
