/**
 * Manual control: every legal and illegal transition between the six states, the passive states
 * (DISABLED, FORCED_OPEN, METRICS_ONLY) and reset().
 */
import {
  type CircuitBreakerEvent,
  type CircuitBreakerStateName,
  IllegalStateTransitionError,
  STATES,
} from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../common/rejection.test-support.js';
import {
  clock,
  driveTo,
  fail,
  freshClockForEachTest,
  listen,
  make,
  manualTransition,
  refused,
  SMALL,
  succeed,
  T0,
  TEN_YEARS,
  tripped,
  typesOf,
} from './circuit-breaker.test-support.js';

freshClockForEachTest();

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
    const error = await rejectionOf(manualTransition(cb, to));
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
    const cb = await tripped();
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
    const cb = await tripped();
    await cb.transitionToClosedState();
    expect((await cb.getMetrics()).numberOfBufferedCalls).toBe(0);
    await fail(cb);
    expect(await cb.getState()).toBe('CLOSED');
  });
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
    const cb = await tripped();
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
