/**
 * CLOSED: what trips the breaker (rates, counts, consecutive failures), the minimum number of calls,
 * and the TIME_BASED window.
 */
import type { CircuitBreaker, CircuitBreakerConfig } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import {
  BoomError,
  clock,
  fail,
  freshClockForEachTest,
  IgnoredError,
  listen,
  make,
  succeed,
  T0,
  TEN_YEARS,
  transitionEvents,
  typesOf,
  windowOf,
} from './circuit-breaker.test-support.js';

freshClockForEachTest();

/** Checks that `cb` is still CLOSED, and that one more failure opens it. */
async function expectNextFailureOpens(cb: CircuitBreaker): Promise<void> {
  expect(await cb.getState()).toBe('CLOSED');
  await fail(cb);
  expect(await cb.getState()).toBe('OPEN');
}

// ====================================================================== CLOSED -> OPEN

describe('CLOSED -> OPEN', () => {
  it('opens when the failure rate reaches the threshold exactly, events in order', async () => {
    const cb = make({ ...windowOf(4), failureRateThreshold: 50 });
    const events = listen(cb);
    await succeed(cb, 2);
    await fail(cb);
    await expectNextFailureOpens(cb);
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
    const cb = make({ ...windowOf(3), failureRateThreshold: 67 });
    await succeed(cb);
    await fail(cb, 2); // 66.7% < 67%
    expect(await cb.getState()).toBe('CLOSED');
    expect((await cb.getMetrics()).failureRate).toBeCloseTo(66.667, 2);
  });

  it('a COUNT_BASED window forgets the oldest outcome', async () => {
    const cb = make({ ...windowOf(4), failureRateThreshold: 50 });
    await fail(cb);
    await succeed(cb, 3); // F S S S: 25%
    await fail(cb); // S S S F: 25% (the first failure fell out)
    expect(await cb.getState()).toBe('CLOSED');
    expect(await cb.getMetrics()).toMatchObject({ numberOfBufferedCalls: 4, numberOfFailedCalls: 1 });
    await fail(cb); // S S F F: 50%
    expect(await cb.getState()).toBe('OPEN');
  });

  it('opens on the slow-call rate (slow means strictly longer than the threshold)', async () => {
    const cb = make({ ...windowOf(4), slowCallDurationThreshold: 100, slowCallRateThreshold: 50 });
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
    const cb = make({ ...windowOf(10), slowCallDurationThreshold: 10 });
    await fail(cb, 1, 11);
    expect(await cb.getMetrics()).toMatchObject({
      numberOfFailedCalls: 1,
      numberOfSlowCalls: 1,
      numberOfSlowFailedCalls: 1,
      numberOfSlowSuccessfulCalls: 0,
    });
  });

  it('reports both exceeded rates when both are met', async () => {
    const cb = make({ ...windowOf(2), slowCallDurationThreshold: 10, slowCallRateThreshold: 50 });
    const events = listen(cb);
    await fail(cb, 2, 20);
    expect(typesOf(events).slice(-3)).toEqual([
      'FAILURE_RATE_EXCEEDED',
      'SLOW_CALL_RATE_EXCEEDED',
      'STATE_TRANSITION',
    ]);
    expect(events.at(-1)).toMatchObject({ reason: 'FAILURE_RATE' });
  });

  /** 10 failures in a 60 s window open it, whatever the minimum number of calls. */
  const tenFailuresInAMinute: CircuitBreakerConfig = {
    slidingWindowType: 'TIME_BASED',
    slidingWindowSize: 60,
    minimumNumberOfCalls: 100,
    failureCountThreshold: 10,
  };

  it('opens on failureCountThreshold, ungated by the minimum (10 failures in 60 s)', async () => {
    const cb = make(tenFailuresInAMinute);
    const events = listen(cb);
    await succeed(cb, 30);
    await fail(cb, 9);
    await expectNextFailureOpens(cb);
    expect(events.at(-1)).toMatchObject({ type: 'STATE_TRANSITION', reason: 'FAILURE_COUNT' });
  });

  it('failureCountThreshold only counts failures still in the window', async () => {
    const cb = make(tenFailuresInAMinute);
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
    await expectNextFailureOpens(cb);
    expect(events.at(-1)).toMatchObject({ type: 'STATE_TRANSITION', reason: 'CONSECUTIVE_FAILURES' });
  });

  it('ignored errors leave the consecutive-failure count alone', async () => {
    const cb = make({ consecutiveFailureThreshold: 3, ignoreExceptions: [IgnoredError] });
    await fail(cb, 2);
    await fail(cb, 3, 0, new IgnoredError('ignored'));
    await expectNextFailureOpens(cb);
  });

  it('the consecutive-failure count restarts at 0 on entering CLOSED', async () => {
    const cb = make({ consecutiveFailureThreshold: 3 });
    await fail(cb, 2);
    await cb.transitionToOpenState();
    await cb.transitionToClosedState();
    await fail(cb, 2);
    await expectNextFailureOpens(cb);
  });

  it('the consecutive-failure count is independent of the window', async () => {
    const threeInARowInOneSecond: CircuitBreakerConfig = {
      slidingWindowType: 'TIME_BASED',
      slidingWindowSize: 1,
      consecutiveFailureThreshold: 3,
    };
    const cb = make({
      ...threeInARowInOneSecond,
      minimumNumberOfCalls: 1,
      failureRateThreshold: 100,
      ignoreExceptions: [IgnoredError],
    });
    // Failures far apart never share the 1 s window, yet they are still in a row.
    await fail(cb, 1, 0, new IgnoredError('not a failure'));
    expect(await cb.getState()).toBe('CLOSED');
    await cb.onError(0, new BoomError('1')); // 100% of a window of one: trips on the rate
    expect(await cb.getState()).toBe('OPEN');
    const run = make({ ...threeInARowInOneSecond, minimumNumberOfCalls: 100 });
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
    const a = make({ ...windowOf(4), failureCountThreshold: 4, consecutiveFailureThreshold: 4 });
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
    await expectNextFailureOpens(cb);
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
