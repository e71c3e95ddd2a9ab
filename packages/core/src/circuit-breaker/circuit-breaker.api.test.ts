/**
 * The API around the state machine: getMetrics(), the manual permit API, execute and decorate,
 * events and construction.
 */
import { CallNotPermittedError, CircuitBreaker, type CircuitBreakerEvent } from '@breakwater/core';
import { EventPublisher } from '@breakwater/core/engine';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { rejectionOf } from '../common/rejection.test-support.js';
import {
  BoomError,
  clock,
  driveTo,
  fail,
  freshClockForEachTest,
  IgnoredError,
  listen,
  make,
  refused,
  SMALL,
  succeed,
  T0,
  tripped,
  typesOf,
} from './circuit-breaker.test-support.js';

freshClockForEachTest();

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
    const cb = await tripped();
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
    const error = await rejectionOf(cb.acquirePermission());
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
