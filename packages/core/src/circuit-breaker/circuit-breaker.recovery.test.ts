/**
 * Recovery: the OPEN wait, HALF_OPEN probes and their policies, and the automatic OPEN -> HALF_OPEN
 * transition.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerConfig } from '@breakwater/core';
import { describe, expect, it, vi } from 'vitest';
import { deferred } from '../../../../test/support/promises.js';
import { rejectionOf } from '../common/rejection.test-support.js';
import { fakeTimersClock } from '../common/timers.test-support.js';
import {
  BoomError,
  clock,
  fail,
  freshClockForEachTest,
  IgnoredError,
  listen,
  make,
  refused,
  SMALL,
  succeed,
  T0,
  transitionEvents,
  transitionsOf,
  tripped,
  typesOf,
} from './circuit-breaker.test-support.js';

freshClockForEachTest();

// ====================================================================== OPEN

describe('OPEN', () => {
  it('refuses calls until openedAt + wait, then the first call half-opens it', async () => {
    const cb = await tripped();
    const events = listen(cb);
    clock.advance(999);
    const error = await rejectionOf(cb.execute(() => 'x'));
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
    const cb = await tripped();
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
    const probes = [deferred<string>(), deferred<string>(), deferred<string>()];
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
    const cb = await tripped({ ...SMALL, slidingWindowSize: 10, minimumNumberOfCalls: 2 });
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

  /** 'successes' with 3 probes, of which 2 must succeed. */
  const twoOfThree: CircuitBreakerConfig = {
    permittedNumberOfCallsInHalfOpenState: 3,
    halfOpenPolicy: 'successes',
    successThresholdInHalfOpenState: 2,
  };

  it("'successes' closes after N successes, slow ones included", async () => {
    const cb = await halfOpen({ ...twoOfThree, slowCallDurationThreshold: 10, slowCallRateThreshold: 1 });
    const events = listen(cb);
    await succeed(cb, 1, 50);
    expect(await cb.getState()).toBe('HALF_OPEN');
    await succeed(cb, 1, 50);
    expect(await cb.getState()).toBe('CLOSED');
    expect(transitionEvents(events).at(-1)).toMatchObject({ reason: 'HALF_OPEN_PASSED' });
  });

  it("'successes' reopens on the first failure", async () => {
    const cb = await halfOpen(twoOfThree);
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
    const cb = await tripped({ ...SMALL, maxWaitDurationInHalfOpenState: 5000 });
    clock.advance(1000);
    const hung = deferred<string>();
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
    const cb = await tripped({ ...SMALL, maxWaitDurationInHalfOpenState: 5000 });
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

  /** Fake timers from T0, and a breaker that reads them (Date.now()): its own timers drive it. */
  function onFakeTimers(config: CircuitBreakerConfig, name = 'auto'): CircuitBreaker {
    vi.useFakeTimers({ now: T0 });
    return CircuitBreaker.of(name, config, { clock: fakeTimersClock });
  }

  it('lazily: a read after the wait sees HALF_OPEN, entered at exactly openedAt + wait', async () => {
    const cb = await tripped(auto);
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
    const cb = await tripped({ ...auto, maxWaitDurationInHalfOpenState: 2000 });
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
    const cb = onFakeTimers({ ...auto, waitDurationInOpenState: 60_000 });
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
    const cb = onFakeTimers({ ...auto, maxWaitDurationInHalfOpenState: 5000 });
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
    const cb = onFakeTimers({ ...SMALL, maxWaitDurationInHalfOpenState: 5000 }, 'maxwait');
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
    const cb = await tripped({ ...auto, waitDurationInOpenState: 1000 });
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
    const cb = onFakeTimers(auto, 'closing');
    await fail(cb, 2);
    const events = listen(cb);
    cb.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
